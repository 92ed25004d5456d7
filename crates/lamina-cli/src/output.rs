//! Printing results: aligned tables for people, JSON for programs.

use std::io::Write;

use serde_json::Value;

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn print_json(value: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Writes `text` on stdout; unlike `print!`, a closed pipe is an error, not a panic.
pub(crate) fn print_text(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Rows under a header, printed with each column as wide as its widest cell.
pub(crate) struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column headers.
    pub(crate) fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; missing cells print empty, extra cells are dropped.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, with no trailing spaces.
    pub(crate) fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut text = String::new();
        let header: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = row.get(i).map(String::as_str).unwrap_or("");
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }

    /// Prints the table on stdout.
    pub(crate) fn print(&self) -> anyhow::Result<()> {
        std::io::stdout()
            .lock()
            .write_all(self.render().as_bytes())?;
        Ok(())
    }
}

/// Prints `key  value` lines with the keys aligned, skipping empty values.
pub(crate) fn print_fields(fields: &[(&str, String)]) -> anyhow::Result<()> {
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    for (key, value) in fields.iter().filter(|(_, v)| !v.is_empty()) {
        writeln!(out, "{key:width$}  {value}")?;
    }
    Ok(())
}

/// `Some(s)` as a JSON string, `None` as absent (`null`, removed by [`compact`]).
pub(crate) fn opt(s: Option<&str>) -> Value {
    s.map_or(Value::Null, Value::from)
}

/// Removes `null` members, so JSON output lists only the fields the API returned.
pub(crate) fn compact(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        map.retain(|_, v| !v.is_null());
        for v in map.values_mut() {
            *v = compact(std::mem::take(v));
        }
    } else if let Value::Array(items) = &mut value {
        for v in items.iter_mut() {
            *v = compact(std::mem::take(v));
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned_without_trailing_spaces() {
        let mut table = Table::new(&["NAME", "VERSION"]);
        table.row(vec!["a-long-name".into(), "1".into()]);
        table.row(vec!["b".into(), "12".into()]);
        assert_eq!(
            table.render(),
            "NAME         VERSION\na-long-name  1\nb            12\n"
        );
    }

    #[test]
    fn compact_drops_nulls_at_any_depth() {
        let v = serde_json::json!({"a": null, "b": [{"c": null, "d": 1}]});
        assert_eq!(compact(v), serde_json::json!({"b": [{"d": 1}]}));
    }
}
