//! The `Debug` form shared by the LINEMODE bitflags types ([`ModeMask`](super::ModeMask),
//! [`SlcFlags`](super::SlcFlags)): the names of the bits set, joined by ` | `.

/// `Name(A | B)` for a set of flags, or `Name(EMPTY)` with the name of no flag set.
pub(super) fn debug_flags<F: bitflags::Flags>(
    f: &mut core::fmt::Formatter<'_>,
    type_name: &str,
    flags: &F,
    empty: &str,
) -> core::fmt::Result {
    write!(f, "{type_name}(")?;
    if flags.is_empty() {
        f.write_str(empty)?;
    }
    for (index, (name, _)) in flags.iter_names().enumerate() {
        if index > 0 {
            f.write_str(" | ")?;
        }
        f.write_str(name)?;
    }
    f.write_str(")")
}
