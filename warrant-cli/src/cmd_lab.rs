//! `escrow demo` and `escrow experiment ...`: thin entries into the `escrow-lab` crate, which
//! runs the investigator and the auditor from the same libraries as `escrow retrieve` and
//! `escrow audit` (`escrow_lab::library_roles`), and this binary for the timed audit.

use crate::io::Out;
use anyhow::{Context, Result};
use escrow_lab::library_roles::LibraryRoles;

fn roles() -> Result<LibraryRoles> {
    Ok(LibraryRoles {
        audit_program: std::env::current_exe().context("cannot find this escrow binary")?,
    })
}

pub fn demo(a: escrow_lab::DemoArgs, out: Out) -> Result<()> {
    escrow_lab::demo(a, &roles()?, out)
}

pub fn experiment(a: escrow_lab::ExperimentArgs, out: Out) -> Result<()> {
    escrow_lab::experiment(a, &roles()?, out)
}
