//! The human output of `lamina function check`: which files and modules several sources
//! provide, and which one the function sees. The analysis is
//! [`lamina_layers::inspect::conflicts`].

use std::fmt::Write as _;

use lamina_layers::inspect::Conflict;

/// One block per conflict, the winner marked; `no conflicts` when there are none.
///
/// ```text
/// module which
///   layer-a  /opt/python/which.py
///   layer-b  /opt/python/which.py  <- wins
/// ```
pub fn render(conflicts: &[Conflict]) -> String {
    if conflicts.is_empty() {
        return String::from("no conflicts\n");
    }
    let mut out = String::new();
    for (i, c) in conflicts.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "{}", c.what);
        let width = c.providers.iter().map(String::len).max().unwrap_or(0);
        let mut marked = false;
        for (label, path) in c.providers.iter().zip(&c.paths) {
            let wins = !marked && *label == c.winner && *path == c.winner_path;
            marked |= wins;
            let _ = writeln!(
                out,
                "  {label:width$}  {path}{}",
                if wins { "  <- wins" } else { "" }
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use lamina_layers::inspect::{Mount, Source, conflicts};

    use super::*;

    #[test]
    fn nothing_to_report() {
        assert_eq!(render(&[]), "no conflicts\n");
    }

    #[test]
    fn the_winner_is_marked() {
        let c = Conflict {
            what: String::from("module which"),
            providers: vec![String::from("layer-a"), String::from("layer-b")],
            paths: vec![
                String::from("/opt/python/which.py"),
                String::from("/opt/python/which.py"),
            ],
            winner: String::from("layer-b"),
            winner_path: String::from("/opt/python/which.py"),
        };
        assert_eq!(
            render(&[c]),
            "module which\n  layer-a  /opt/python/which.py\n  layer-b  /opt/python/which.py  <- wins\n"
        );
    }

    #[test]
    fn two_layers_shipping_which_py() {
        let zip = |body: &str| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("python")).unwrap();
            std::fs::write(dir.path().join("python/which.py"), body).unwrap();
            let mut out = std::io::Cursor::new(Vec::new());
            lamina_layers::build::write_reproducible_zip(dir.path(), &mut out, &mut |_| {})
                .unwrap();
            out.into_inner()
        };
        let sources = [
            Source {
                label: String::from("first"),
                zip: zip("A = 1\n"),
                mount: Mount::Opt,
            },
            Source {
                label: String::from("second"),
                zip: zip("B = 1\n"),
                mount: Mount::Opt,
            },
        ];
        let text = render(&conflicts("python3.12", &sources).unwrap());
        assert!(text.contains("module which"), "{text}");
        assert!(
            text.contains("second  /opt/python/which.py  <- wins"),
            "{text}"
        );
    }
}
