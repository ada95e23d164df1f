//! Settlement's tools: a generated settlement month for the export benchmark (`bench`) and the
//! export to a file (`cli`).

pub mod bench;
pub mod cli;
