//! The report's view laid out as a [`Sheet`]: one line per row, or in a nested view
//! (`file,process`, `process,file`, `file,container`, `container,file`) each row's line with
//! its parts under it, a "... N more" line for what a terminal or `-n` left out under a row,
//! the totals; and the [`RowCut`] that lets the table keep only the whole rows a screen
//! holds.

use std::borrow::Cow;

use super::{Column, ReportView, ViewRow};
use crate::model::{GroupBy, Row};
use crate::text::thousands;
use crate::view::{Cell, ColumnSpec, ESSENTIAL, Line, Role, RowCut, Sheet, UnitRule};

/// On a terminal without `-n`: the parts listed under a row (a file's processes, a
/// process's files…).
const TERMINAL_CHILDREN: usize = 5;

/// The columns that describe the parent of a nested view (`file,process`: the file's), left
/// empty on the lines of its parts.
fn parent_keys(view: GroupBy) -> &'static [Column] {
    match view {
        GroupBy::FileProcess | GroupBy::FileContainer => {
            &[Column::Path, Column::Kind, Column::Device, Column::Inode]
        }
        GroupBy::ProcessFile => &[
            Column::Pid,
            Column::StartTime,
            Column::User,
            Column::Command,
        ],
        GroupBy::ContainerFile => &[Column::Runtime, Column::Container, Column::Pod],
        _ => &[],
    }
}

/// Where a nested view says how many parts it left out, and their noun (one, many).
fn more_label(view: GroupBy) -> (Column, &'static str, &'static str) {
    match view {
        GroupBy::ProcessFile | GroupBy::ContainerFile => (Column::Path, "file", "files"),
        GroupBy::FileContainer => (Column::Container, "container", "containers"),
        _ => (Column::Command, "process", "processes"),
    }
}

impl<'a> ReportView<'a> {
    fn group_by(&self) -> GroupBy {
        self.report.meta.group_by
    }

    /// The columns as the table and CSV show them: on a terminal too narrow for all, the
    /// columns chosen with `--columns` stay, and of the view's own the key columns and the
    /// sort column; device and inode are shown where two rows share a path.
    fn specs(&self) -> Vec<ColumnSpec> {
        let keys = Column::keys_of(self.group_by());
        let distinguish = self.shares_a_path();
        self.columns
            .iter()
            .map(|&c| {
                let mut spec = c.spec();
                if self.chosen || keys.contains(&c) || c == self.sort {
                    spec.priority = ESSENTIAL;
                }
                if distinguish && matches!(c, Column::Device | Column::Inode) {
                    spec.in_table = true;
                }
                spec
            })
            .collect()
    }

    /// The rows laid out. `screen`: for a table on a terminal without `-n` (a row lists its
    /// first few parts, and the table keeps the rows that fit); otherwise every row and part
    /// the view has (CSV: in a nested view, one flat row per pair). `footer` ends the table
    /// (the coverage line).
    pub fn sheet(&self, screen: bool, footer: Option<String>) -> Sheet<'a> {
        let view = self.group_by();
        let child_cap = if screen {
            TERMINAL_CHILDREN
        } else {
            usize::MAX
        };
        let columns = self.specs();
        // Under its parent, a part's line leaves the parent's key columns empty.
        let blank = self
            .columns
            .iter()
            .zip(&columns)
            .take_while(|(c, _)| parent_keys(view).contains(c))
            .filter(|(_, spec)| spec.in_table)
            .count();
        let (more_col, one, many) = more_label(view);
        let more_col = self.columns.iter().position(|c| *c == more_col);
        let mut lines = Vec::new();
        let mut row_lines = Vec::new();
        for r in &self.rows {
            let before = lines.len();
            if !view.is_pair() {
                lines.push(Line {
                    role: Role::Data { blank: 0 },
                    cells: self.cells(r.row),
                });
                row_lines.push(1);
                continue;
            }
            // The parent is named on its own line; its parts are indented under it.
            lines.push(Line {
                role: Role::TableOnly,
                cells: self.cells(r.row),
            });
            let shown = r.children.len().min(child_cap);
            for child in &r.children[..shown] {
                lines.push(Line {
                    role: Role::Data { blank },
                    cells: self.cells(child),
                });
            }
            let more = parts_of(view, r).saturating_sub(shown as u64);
            if let (true, Some(i)) = (more > 0, more_col) {
                let mut cells = vec![Cell::Empty; self.columns.len()];
                let noun = if more == 1 { one } else { many };
                cells[i] = Cell::Code(Cow::Owned(format!("... {} more {noun}", thousands(more))));
                lines.push(Line {
                    role: Role::TableOnly,
                    cells,
                });
            }
            row_lines.push(lines.len() - before);
        }
        lines.extend(self.totals(&columns));
        Sheet {
            rows: Some(RowCut {
                lines: row_lines,
                total: self.total_rows,
                fit_height: screen,
            }),
            ..Sheet::one_section(columns, lines, UnitRule::PerCell, footer)
        }
    }

    /// The totals line: in views of processes the distinct processes read in the `Procs`
    /// column, and `TOTAL` in the first column of the table it leaves empty (a key column);
    /// with only numbers chosen there is nowhere to say what the line is, so there is none.
    fn totals(&self, columns: &[ColumnSpec]) -> Option<Line<'a>> {
        let totals = &self.report.totals;
        let mut total = self.cells(totals);
        if matches!(self.group_by(), GroupBy::FileProcess | GroupBy::Process)
            && let Some(i) = self.columns.iter().position(|c| *c == Column::Processes)
        {
            total[i] = Cell::Count(totals.processes);
        }
        let label = (0..total.len()).find(|&i| total[i] == Cell::Empty && columns[i].in_table)?;
        total[label] = Cell::Code(Cow::Borrowed("TOTAL"));
        Some(Line {
            role: Role::TableOnly,
            cells: total,
        })
    }

    /// Whether two rows of the view (or two files under one process or container) name the
    /// same path: then they are different objects, and the table shows which is which.
    fn shares_a_path(&self) -> bool {
        let path = |r: &Row| r.key.file().map(|(p, _, _)| p.to_vec());
        let dup = |mut paths: Vec<Vec<u8>>| {
            paths.sort_unstable();
            paths.windows(2).any(|w| w[0] == w[1])
        };
        if matches!(
            self.group_by(),
            GroupBy::ProcessFile | GroupBy::ContainerFile
        ) {
            return self
                .rows
                .iter()
                .any(|r| dup(r.children.iter().filter_map(|c| path(c)).collect()));
        }
        dup(self.rows.iter().filter_map(|r| path(r.row)).collect())
    }
}

/// The parts a nested row has in all (`-n` and the terminal list fewer): a file's
/// processes, a process's files, a file's containers, a container's files.
fn parts_of(view: GroupBy, r: &ViewRow<'_>) -> u64 {
    match view {
        GroupBy::FileProcess => r.row.processes,
        _ => r.row.children.len() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Counters, Coverage, MapKind, Meta, Object, ProcDesc, Report, RowKey, Source,
    };
    use crate::view::Terminal;
    use crate::view::report::ViewOptions;

    fn render(report: &Report, term: Option<Terminal>) -> String {
        let view = ReportView::new(report, &ViewOptions::default());
        crate::render::table::render(&view.sheet(term.is_some(), None), term)
    }

    fn file_process_report(files: usize, procs: u32) -> Report {
        let row = |key: RowKey, processes: u64, pss: u64, children: Vec<Row>| Row {
            key,
            processes,
            mappings: Some(processes),
            counters: Counters {
                pss,
                ..Counters::default()
            },
            children,
        };
        let rows: Vec<Row> = (0..files)
            .map(|f| {
                let path = format!("/lib/f{f}.so").into_bytes();
                let children = (0..procs)
                    .map(|p| {
                        let proc = ProcDesc {
                            pid: 1000 + p,
                            start_time: 1,
                            uid: Some(0),
                            user: "root".into(),
                            comm: b"x".to_vec(),
                            command: format!("cmd{p}").into_bytes(),
                            cgroup: None,
                        };
                        let key = RowKey::FileProcess {
                            path: path.as_slice().into(),
                            object: Object::default(),
                            kind: MapKind::File,
                            proc: proc.into(),
                        };
                        row(key, 1, 4096, Vec::new())
                    })
                    .collect();
                row(
                    RowKey::File {
                        path,
                        object: Object::default(),
                        kind: MapKind::File,
                    },
                    u64::from(procs),
                    4096,
                    children,
                )
            })
            .collect();
        Report {
            meta: Meta {
                host: None,
                kernel: None,
                time: std::time::SystemTime::UNIX_EPOCH,
                source: Source::Smaps,
                group_by: GroupBy::FileProcess,
                proc_root: "/proc".into(),
                threads: 1,
                duration: std::time::Duration::ZERO,
                capture: None,
            },
            rows,
            totals: row(RowKey::Total, u64::from(procs), 4096, Vec::new()),
            coverage: Coverage::default(),
            charges: Default::default(),
        }
    }

    #[test]
    fn a_terminal_lists_five_processes_per_file_and_fits_the_files() {
        let report = file_process_report(10, 8);
        // 30 rows: 23 lines for the body; each file takes 1 + 5 + 1 lines.
        let term = Some(Terminal {
            rows: 30,
            cols: 200,
        });
        let out = render(&report, term);
        let lines: Vec<&str> = out.lines().collect();
        let files = lines.iter().filter(|l| l.starts_with("/lib/")).count();
        assert_eq!(files, 3, "{out}");
        let pids = lines.iter().filter(|l| l.contains(" cmd")).count();
        assert_eq!(pids, 15, "{out}");
        let more = lines
            .iter()
            .filter(|l| l.trim() == "... 3 more processes")
            .count();
        assert_eq!(more, 3, "{out}");
        assert!(out.contains("... 7 more rows (-n 0 shows all)"), "{out}");
        // PIDs are printed as plain numbers.
        assert!(out.contains(" 1000 "), "{out}");
        // Not on a terminal: every process of every file.
        let all = render(&report, None);
        assert_eq!(all.lines().filter(|l| l.contains(" cmd")).count(), 80);
        assert!(!all.contains("more processes"));
    }
}
