//! Renderers, one module per format, each over any view: a table for people and CSV for
//! spreadsheets print a view's [`crate::view::Sheet`]; JSON prints a typed document of the
//! schema; SVG draws a view's [`crate::view::chart::Chart`] as a treemap (its layout math in
//! [`squarify`]); Prometheus prints the gauges of the Prometheus view. Renderers produce
//! bytes in memory; the caller writes them once, so a closed pipe
//! or a full disk is handled in one place (`crate::output`).
//!
//! Machine formats carry raw integers (bytes) and stable column names; human units, column
//! alignment and shortening live in the table renderer alone.

pub mod csv;
mod fit;
pub mod json;
mod names;
pub mod prometheus;
pub mod squarify;
pub mod svg;
pub mod table;
mod units;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned columns in human units, with totals and a coverage line.
    #[default]
    Table,
    /// RFC 4180 CSV with integer bytes, for spreadsheets.
    Csv,
    /// One JSON document with integer bytes and a meta object.
    Json,
    /// A treemap picture of the report's rows.
    Svg,
    /// The Prometheus text exposition format, for node_exporter's textfile collector.
    Prometheus,
}
