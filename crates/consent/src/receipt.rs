//! receipts (todo)
#![allow(missing_docs)]
pub struct ConsentReceipt; pub struct Controller; pub fn receipt_for(){}
