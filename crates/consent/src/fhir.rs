//! FHIR (todo)
#![allow(missing_docs)]
use crate::*;
pub fn export_bundle(){}
pub fn import_bundle(){}
