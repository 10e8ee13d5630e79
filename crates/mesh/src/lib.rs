//! De-identification of 3D medical models (STL, OBJ, PLY): metadata scrub, reframe, deface, mask, shuffle, utility report.
#![forbid(unsafe_code)]
