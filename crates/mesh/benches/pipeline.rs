//! Pipeline benchmark (being written by the mesh engineer).
fn main() {}
