//! Server-rendered SVG charts: grouped horizontal bars, one group per row, one bar per series.
//!
//! Bar lengths are integer arithmetic on the amounts (no floats), so a chart is a faithful
//! picture of the figures printed beside it. Each chart is one image with a title and a
//! description for screen readers, and each bar has its exact figure as a tooltip; the same
//! figures, with the links to their records and proofs, are always in a table beside it (an
//! image holds no links, so keyboard and screen-reader users meet each link once, in the table).

use super::html::esc;
use std::fmt::Write as _;

/// One group of bars: a label and one value per series with its text.
pub struct Row {
    /// The row's label, such as an agency.
    pub label: String,
    /// One (amount, formatted amount) per series.
    pub values: Vec<(u64, String)>,
}

/// Series names and their CSS classes, in bar order.
pub const SERIES: &[(&str, &str)] = &[
    ("Appropriated", "bar-appropriated"),
    ("Committed", "bar-committed"),
    ("Paid", "bar-paid"),
];

const LABEL_WIDTH: u64 = 170;
const BAR_AREA: u64 = 560;
const BAR_HEIGHT: u64 = 14;
const ROW_GAP: u64 = 14;

/// A grouped bar chart of `rows` against [`SERIES`].
pub fn bars(id: &str, title: &str, description: &str, rows: &[Row]) -> String {
    let max = rows
        .iter()
        .flat_map(|r| r.values.iter().map(|(v, _)| *v))
        .max()
        .unwrap_or(0)
        .max(1);
    let group = BAR_HEIGHT * SERIES.len() as u64 + ROW_GAP;
    let legend_height = 28;
    let height = legend_height + group * rows.len().max(1) as u64;
    let width = LABEL_WIDTH + BAR_AREA + 10;
    let mut svg = format!(
        "<figure class=\"chart\" tabindex=\"0\" aria-labelledby=\"{id}-title\"><svg viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" focusable=\"false\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        esc(title),
        esc(description)
    );
    for (n, (name, class)) in SERIES.iter().enumerate() {
        let x = LABEL_WIDTH + n as u64 * 140;
        let _ = write!(
            svg,
            "<rect class=\"{class}\" x=\"{x}\" y=\"4\" width=\"12\" height=\"12\"/>\
             <text x=\"{}\" y=\"15\" class=\"legend\">{name}</text>",
            x + 18
        );
    }
    for (r, row) in rows.iter().enumerate() {
        let top = legend_height + r as u64 * group;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" class=\"label\" text-anchor=\"end\">{}</text>",
            LABEL_WIDTH - 8,
            top + BAR_HEIGHT + 6,
            esc(&row.label)
        );
        for (n, ((value, text), (name, class))) in row.values.iter().zip(SERIES).enumerate() {
            let length = (u128::from(*value) * u128::from(BAR_AREA) / u128::from(max)) as u64;
            let _ = write!(
                svg,
                "<rect class=\"{class}\" x=\"{LABEL_WIDTH}\" y=\"{}\" width=\"{}\" height=\"{BAR_HEIGHT}\">\
                 <title>{}: {name} {}</title></rect>",
                top + n as u64 * BAR_HEIGHT,
                length.max(1),
                esc(&row.label),
                esc(text)
            );
        }
    }
    svg.push_str("</svg></figure>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, values: [u64; 3]) -> Row {
        Row {
            label: label.into(),
            values: values.iter().map(|v| (*v, format!("{v}"))).collect(),
        }
    }

    #[test]
    fn bars_are_proportional_to_the_largest_figure() {
        let svg = bars(
            "c",
            "t",
            "d",
            &[row("health", [1000, 500, 250]), row("land", [0, 0, 0])],
        );
        assert!(svg.contains(&format!("width=\"{BAR_AREA}\" height=\"{BAR_HEIGHT}\"")));
        assert!(svg.contains(&format!(
            "width=\"{}\" height=\"{BAR_HEIGHT}\"",
            BAR_AREA / 2
        )));
        assert!(svg.contains(&format!(
            "width=\"{}\" height=\"{BAR_HEIGHT}\"",
            BAR_AREA / 4
        )));
        assert!(svg.contains("<title>health: Paid 250</title>"));
        assert!(svg.contains("aria-labelledby=\"c-title c-desc\""));
    }

    #[test]
    fn the_largest_amounts_do_not_overflow() {
        let svg = bars("c", "t", "d", &[row("x", [u64::MAX, u64::MAX / 2, 0])]);
        assert!(svg.contains(&format!("width=\"{BAR_AREA}\"")));
    }

    #[test]
    fn labels_are_escaped() {
        let svg = bars("c", "<t>", "d", &[row("<b>", [1, 1, 1])]);
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("&lt;t&gt;"));
    }
}
