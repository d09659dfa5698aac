// Asking git about the source tree. One copy for the build script (`include!`d by
// `build.rs`, which records the commit a binary was built from) and for the library
// (`record::Commit::detect`, the commit of the working directory): plain comments only, since
// an included file cannot hold inner documentation.

/// The standard output of `git ARGS` run in `dir`, trimmed; `None` when git is missing or
/// fails (e.g. `dir` is not in a repository).
pub fn git(dir: &std::path::Path, args: &[&str]) -> Option<String> {
    std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
}
