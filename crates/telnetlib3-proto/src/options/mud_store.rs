//! What the MUD protocols keep of what arrived (GMCP, MSDP, MSSP, ZMP, ATCP, Aardwolf):
//! each name's latest value, within a byte budget per protocol, since the peer chooses
//! the names. An item that would pass the budget is still reported by its protocol's
//! event, but not kept; the application learns of the loss through [`DataDropped`], and
//! the first loss of a connection is logged at warn level.

use crate::option::TelnetOption;

/// A MUD protocol's store was full: an item that arrived (and was reported by the
/// protocol's own event) is not in the session's data for it (`gmcp_data`, `msdp_data`,
/// `mssp_data`, `zmp_data`, `atcp_data`, `aardwolf_data`); the value kept for that name,
/// if any, is an older one.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DataDropped {
    /// The protocol (GMCP, MSDP, MSSP, ZMP, ATCP or Aardwolf's option 102).
    pub option: TelnetOption,
    /// The item not kept: the GMCP package, MSDP or MSSP variable, ZMP command, ATCP
    /// package or Aardwolf channel.
    pub name: String,
}

/// Whether this connection's first loss was logged yet (one warning per connection: a
/// peer that fills a store would otherwise fill the log too).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Warned(bool);

/// Report that `name` of `option` was not kept: the event each time, the log once.
pub(crate) fn dropped<E>(emit: &mut E, warned: &mut Warned, option: TelnetOption, name: &str)
where
    E: crate::family::Emit<DataDropped> + ?Sized,
{
    if !warned.0 {
        warned.0 = true;
        tracing::warn!(
            %option,
            name,
            "a MUD data store is full: what arrived is reported but not kept (logged once per connection)"
        );
    }
    emit.emit(DataDropped {
        option,
        name: name.to_owned(),
    });
}

/// Keep `value` as `name`'s latest in `entries` (first-arrival order), within `max` bytes
/// of names and values in all: `bytes` is their running total and `size` a value's cost.
/// Returns whether it was kept: what would pass the budget is not (the caller still
/// reports it, and reports the loss with [`dropped`]).
pub(crate) fn store_within<V: Clone>(
    entries: &mut Vec<(String, V)>,
    bytes: &mut usize,
    (name, value): (&str, &V),
    size: impl Fn(&V) -> usize,
    max: usize,
) -> bool {
    let new_size = name.len() + size(value);
    match entries.iter().position(|(known, _)| known == name) {
        Some(at) => {
            let total = *bytes - (name.len() + size(&entries[at].1)) + new_size;
            if total > max {
                return false;
            }
            *bytes = total;
            entries[at].1 = value.clone();
        }
        None if *bytes + new_size <= max => {
            *bytes += new_size;
            entries.push((name.to_owned(), value.clone()));
        }
        None => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_keeps_the_latest_within_its_budget() {
        let mut entries: Vec<(String, String)> = Vec::new();
        let mut bytes = 0;
        let len = |value: &String| value.len();
        assert!(store_within(
            &mut entries,
            &mut bytes,
            ("a", &"12345".into()),
            len,
            10
        ));
        assert_eq!(bytes, 6);
        // Replaced in place: the old value's cost is given back first.
        assert!(store_within(
            &mut entries,
            &mut bytes,
            ("a", &"123456789".into()),
            len,
            10
        ));
        assert_eq!(bytes, 10);
        assert!(!store_within(
            &mut entries,
            &mut bytes,
            ("b", &String::new()),
            len,
            10
        ));
        assert!(!store_within(
            &mut entries,
            &mut bytes,
            ("a", &"1234567890".into()),
            len,
            10
        ));
        assert_eq!(entries, [("a".to_owned(), "123456789".to_owned())]);
        assert_eq!(bytes, 10);
    }

    #[derive(Default)]
    struct Collect(Vec<DataDropped>);

    impl crate::family::Emit<DataDropped> for Collect {
        fn emit(&mut self, event: DataDropped) {
            self.0.push(event);
        }
    }

    #[test]
    fn every_loss_is_an_event_and_the_first_one_a_warning() {
        let (mut emit, mut warned) = (Collect::default(), Warned::default());
        dropped(&mut emit, &mut warned, TelnetOption::Gmcp, "Char.Vitals");
        assert!(warned.0);
        dropped(&mut emit, &mut warned, TelnetOption::Msdp, "ROOM");
        assert_eq!(
            emit.0,
            [
                DataDropped {
                    option: TelnetOption::Gmcp,
                    name: "Char.Vitals".into()
                },
                DataDropped {
                    option: TelnetOption::Msdp,
                    name: "ROOM".into()
                },
            ]
        );
    }
}
