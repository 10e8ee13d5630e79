//! Dynamic consent: purposes, an append-only consent ledger, jurisdiction rules as data, decisions with citations, FHIR export.
#![forbid(unsafe_code)]
