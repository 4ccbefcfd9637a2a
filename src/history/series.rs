//! The series `pmaps trend` judges, read from the snapshots of a history.
