//! The `slc` field of a client's fingerprint, as telnetlib3 5.0.1 records it
//! (`_collect_slc_tab`): the entries of its SLC table that differ from its BSD defaults,
//! sorted into `set` (function name to character), `unset` and `nosupport`.
//!
//! telnetlib3's table is not ours (we follow BSD telnetd's `change_slc`), and its record
//! has a quirk that decides what shows: its table starts as the very objects of its
//! default table (`generate_slctab(BSD_SLC_TAB)` copies references), and most of its
//! updates change those objects in place, defaults included. Only an entry replaced by a
//! new object (the client's NOSUPPORT) or one of functions 19 to 30 (which have no
//! default and get fresh objects) can differ from its default. So the record is computed
//! here by replaying telnetlib3's `_slc_process` / `_slc_change` on the triplets the
//! client sent, with that sharing modelled.

use serde_json::{json, Map, Value};
use telnetlib3::proto::options::linemode::{SlcFunction, SlcTriplet, NSLC};

/// SLC levels (RFC 1184) and the ACK flag, as telnetlib3's `slc` module names them.
const NOSUPPORT: u8 = 0;
const CANTCHANGE: u8 = 1;
const DEFAULT: u8 = 3;
const LEVEL_BITS: u8 = 0x03;
const ACK: u8 = 0x80;
/// `_POSIX_VDISABLE`: the character of an unsupported function.
const VDISABLE: u8 = 0xFF;

/// One SLC definition: telnetlib3's `SLC(mask, val)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Def {
    mask: u8,
    value: u8,
}

impl Def {
    const fn level(self) -> u8 {
        self.mask & LEVEL_BITS
    }
}

/// `SLC_nosupport()`.
const NOSUPPORT_DEF: Def = Def {
    mask: NOSUPPORT,
    value: VDISABLE,
};

/// telnetlib3's `BSD_SLC_TAB`, functions 1 (SYNCH) to 18 (FORW2).
const BSD: [Def; 18] = [
    Def { mask: 3, value: 0 }, // SYNCH: SLC()
    Def { mask: 3, value: 0 }, // BRK
    Def {
        mask: 0x62,
        value: 0x03,
    }, // IP: VARIABLE | FLUSHIN | FLUSHOUT, ^C
    Def {
        mask: 0x22,
        value: 0x0F,
    }, // AO: VARIABLE | FLUSHOUT, ^O
    Def {
        mask: 2,
        value: 0x14,
    }, // AYT: ^T
    Def { mask: 3, value: 0 }, // EOR
    Def {
        mask: 0x62,
        value: 0x1C,
    }, // ABORT: ^\
    Def {
        mask: 2,
        value: 0x04,
    }, // EOF: ^D
    Def {
        mask: 0x42,
        value: 0x1A,
    }, // SUSP: VARIABLE | FLUSHIN, ^Z
    Def {
        mask: 2,
        value: 0x7F,
    }, // EC
    Def {
        mask: 2,
        value: 0x15,
    }, // EL: ^U
    Def {
        mask: 2,
        value: 0x17,
    }, // EW: ^W
    Def {
        mask: 2,
        value: 0x12,
    }, // RP: ^R
    Def {
        mask: 2,
        value: 0x16,
    }, // LNEXT: ^V
    Def {
        mask: 2,
        value: 0x11,
    }, // XON: ^Q
    Def {
        mask: 2,
        value: 0x13,
    }, // XOFF: ^S
    NOSUPPORT_DEF,             // FORW1
    NOSUPPORT_DEF,             // FORW2
];

/// One function's entry in telnetlib3's table.
#[derive(Clone, Copy, Debug)]
enum Entry {
    /// The default table's own object: changes to it change the default too.
    Shared,
    /// An object of this connection's.
    Own(Def),
}

/// telnetlib3's SLC state of one connection, replayed.
struct Replay {
    /// The default objects (functions 1 to 18), as this connection's updates left them.
    defaults: [Def; 18],
    /// Functions 1 to [`NSLC`] (index 0 unused); `None` once a reset dropped it (the
    /// default table has no functions above 18).
    table: [Option<Entry>; NSLC + 1],
}

/// What stopped a replay: telnetlib3 raised an exception (a `KeyError` for a function its
/// table lost, an `AttributeError` for one without default), which ends its processing
/// of that list.
struct Raised;

impl Replay {
    fn new() -> Self {
        let mut table = [None; NSLC + 1];
        for (function, entry) in table.iter_mut().enumerate().skip(1) {
            *entry = Some(if function <= BSD.len() {
                Entry::Shared
            } else {
                Entry::Own(NOSUPPORT_DEF)
            });
        }
        Self {
            defaults: BSD,
            table,
        }
    }

    /// The default for `function`, if the default table has one.
    fn default(&self, function: usize) -> Option<Def> {
        function
            .checked_sub(1)
            .and_then(|i| self.defaults.get(i))
            .copied()
    }

    fn current(&self, function: usize) -> Result<Def, Raised> {
        match self.table[function].ok_or(Raised)? {
            Entry::Shared => self.default(function).ok_or(Raised),
            Entry::Own(def) => Ok(def),
        }
    }

    /// Change `function`'s definition where it lives: in the shared default, or its own.
    fn update(&mut self, function: usize, change: impl FnOnce(&mut Def)) {
        match &mut self.table[function] {
            Some(Entry::Own(def)) => change(def),
            Some(Entry::Shared) => {
                if let Some(def) = self.defaults.get_mut(function - 1) {
                    change(def);
                }
            }
            None => {}
        }
    }

    /// `_slc_process` for one triplet.
    fn process(&mut self, triplet: SlcTriplet) -> Result<(), Raised> {
        let function = usize::from(triplet.function);
        if function > NSLC {
            return Ok(()); // answered NOSUPPORT, nothing kept
        }
        let his = Def {
            mask: triplet.modifier,
            value: triplet.value,
        };
        if function == 0 {
            if his.level() == DEFAULT {
                // `self.slctab = dict(self.default_slc_tab)`: functions 1 to 18 are the
                // default objects again, the others are gone.
                for (f, entry) in self.table.iter_mut().enumerate().skip(1) {
                    *entry = (f <= BSD.len()).then_some(Entry::Shared);
                }
            }
            return Ok(());
        }
        let mine = self.current(function)?;
        if his.level() == mine.level() && his.value == mine.value {
            return Ok(());
        }
        if his.mask & ACK != 0 {
            return Ok(());
        }
        self.change(function, mine, his)
    }

    /// `_slc_change`.
    fn change(&mut self, function: usize, mine: Def, his: Def) -> Result<(), Raised> {
        let my_level = mine.level();
        match his.level() {
            NOSUPPORT => {
                // A new object: `SLC_nosupport()` with the ACK flag.
                self.table[function] = Some(Entry::Own(Def {
                    mask: ACK,
                    value: VDISABLE,
                }));
            }
            DEFAULT => {
                let mask = if my_level == DEFAULT {
                    NOSUPPORT
                } else {
                    self.default(function).ok_or(Raised)?.mask
                };
                self.update(function, |def| def.mask = mask);
                let value = self.default(function).unwrap_or(NOSUPPORT_DEF).value;
                self.update(function, |def| def.value = value);
            }
            _ => {
                if mine.value != 0 {
                    self.update(function, |def| *def = his);
                } else if my_level == DEFAULT {
                    self.update(function, |def| *def = his);
                } else if his.level() == CANTCHANGE && my_level == CANTCHANGE {
                    self.update(function, |def| def.mask = NOSUPPORT);
                } else {
                    self.update(function, |def| def.mask = my_level);
                    if my_level == CANTCHANGE {
                        let value = self.default(function).unwrap_or(NOSUPPORT_DEF).value;
                        self.update(function, |def| def.value = value);
                    }
                }
            }
        }
        Ok(())
    }

    /// `_collect_slc_tab`: the entries that differ from a fresh
    /// `generate_slctab(BSD_SLC_TAB)` (which shares the same default objects).
    fn record(&self) -> Map<String, Value> {
        let mut set = Map::new();
        let mut unset = Vec::new();
        let mut nosupport = Vec::new();
        for (function, entry) in self.table.iter().enumerate().skip(1) {
            let Some(Entry::Own(def)) = entry else {
                continue; // absent, or the default object itself
            };
            if Some(*def) == self.default(function).or(Some(NOSUPPORT_DEF)) {
                continue;
            }
            let name = slc_name(function);
            if def.level() == NOSUPPORT {
                nosupport.push(name);
            } else if def.value == 0 {
                unset.push(name);
            } else {
                set.insert(name, def.value.into());
            }
        }
        unset.sort();
        nosupport.sort();
        let mut record = Map::new();
        if !set.is_empty() {
            record.insert("set".into(), Value::Object(set));
        }
        if !unset.is_empty() {
            record.insert("unset".into(), json!(unset));
        }
        if !nosupport.is_empty() {
            record.insert("nosupport".into(), json!(nosupport));
        }
        record
    }
}

/// telnetlib3's name of an SLC function (`name_slc_command`): `SLC_IP`, ...
fn slc_name(function: usize) -> String {
    u8::try_from(function)
        .ok()
        .and_then(SlcFunction::from_code)
        .map_or_else(|| format!("{function}"), |f| f.name().to_owned())
}

/// The `slc` record telnetlib3 makes of a client that sent `triplets` (empty when its
/// table ends as its defaults).
#[must_use]
pub(super) fn python_slc_record(triplets: &[SlcTriplet]) -> Map<String, Value> {
    let mut replay = Replay::new();
    for &triplet in triplets {
        // telnetlib3's exception ends its handling of that list; which list a triplet
        // came in is not kept, so the replay stops there.
        if replay.process(triplet).is_err() {
            break;
        }
    }
    replay.record()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(function: u8, modifier: u8, value: u8) -> SlcTriplet {
        SlcTriplet {
            function,
            modifier,
            value,
        }
    }

    #[test]
    fn names_are_telnetlibs() {
        assert_eq!(slc_name(3), "SLC_IP");
        assert_eq!(slc_name(17), "SLC_FORW1");
        assert_eq!(slc_name(30), "SLC_EEOL");
    }

    #[test]
    fn only_replaced_entries_and_functions_without_default_show() {
        let record = python_slc_record(&[
            t(10, NOSUPPORT, 0x7F), // EC NOSUPPORT: a new object, shown
            t(12, 2, 0x08),         // EW to ^H: changed in place, default too: hidden
            t(20, 2, 0x05),         // MCR: fresh object, VDISABLE is not NUL: taken
            t(9, 2 | ACK, 0x01),    // ACK: ignored
        ]);
        assert_eq!(
            Value::Object(record),
            json!({"set": {"SLC_MCR": 5}, "nosupport": ["SLC_EC"]})
        );
    }

    #[test]
    fn a_reset_brings_back_the_defaults_and_drops_the_rest() {
        let record = python_slc_record(&[
            t(10, NOSUPPORT, 0x7F),
            t(20, 2, 0x05),
            t(0, DEFAULT, 0),
            t(11, NOSUPPORT, 0x15),
        ]);
        assert_eq!(Value::Object(record), json!({"nosupport": ["SLC_EL"]}));
        // Function 20 is gone after the reset: telnetlib3 raises, and the rest is lost.
        let record = python_slc_record(&[t(0, DEFAULT, 0), t(20, 2, 5), t(11, NOSUPPORT, 0)]);
        assert!(record.is_empty());
    }

    #[test]
    fn a_replaced_entry_changed_again_shows_its_value() {
        // EC NOSUPPORT (replaced, VDISABLE), then a value: taken in place on the new
        // object, which is no default.
        let record = python_slc_record(&[t(10, NOSUPPORT, 0), t(10, 2, 0x08)]);
        assert_eq!(Value::Object(record), json!({"set": {"SLC_EC": 8}}));
    }
}
