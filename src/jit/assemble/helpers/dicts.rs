//! The dict helpers of native code (`DTAG`, `DGET`, `DSET`, `KEYS`): entries
//! found through the run's hint (`ExitState::dict_hint`), inserted and listed by the
//! runtime's own functions (`runtime::access`).

use super::*;

/// The dict object at `dict`, a dict value of the trace.
///
/// # Safety
/// `dict` must be an address the trace loaded from a slot or global whose tag is `Dict`
/// (possibly carried through Phis); objects never move and no collection runs while
/// native code does, so it is a live `GcBox<DictObj>`.
pub(crate) unsafe fn dict_at(dict: *mut u8) -> Gc<DictObj> {
    // SAFETY: guaranteed by the caller.
    unsafe { Gc::<DictObj>::from_address(dict as usize) }
}

/// The dict key a key operand's bits denote: an int, or (`STRING_KEY`) the address of a
/// string object, keyed as `DictKey::of_string` keys strings (a canonical integer spelling
/// is the int key).
pub(crate) fn dict_key<const STRING_KEY: bool>(key: u64) -> DictKey {
    if STRING_KEY {
        // SAFETY: a string key operand is a string value of the trace: a constant of the
        // traced function or an address loaded from its frame, live while native code runs.
        DictKey::of_string(unsafe { Gc::<StrObj>::from_address(key as usize) })
    } else {
        DictKey::Int(key as i64)
    }
}

/// The position of the entry under key operand `key` in `dict`, through the run's hint
/// (`ExitState::dict_hint`), which a found entry becomes.
fn dict_position<const STRING_KEY: bool>(dict: Gc<DictObj>, key: u64, state: &mut ExitState) -> Option<usize> {
    if let Some(position) = state.dict_hint.position(dict.addr() as u64, key, STRING_KEY) {
        return Some(position);
    }
    let dict_key = dict_key::<STRING_KEY>(key);
    let position = dict.position(&dict_key)?;
    state.dict_hint = DictHint {
        dict: dict.addr() as u64,
        key,
        position: position as u64 + 1,
        string_operand: STRING_KEY,
        text_key: matches!(dict_key, DictKey::Str(_)),
    };
    Some(position)
}

/// The entry under key operand `key` in dict value `dict` of the trace.
fn dict_entry<const STRING_KEY: bool>(dict: *mut u8, key: u64, state: *mut ExitState) -> Option<Value> {
    // SAFETY: `dict` is a dict value of the trace (see `dict_at`); `state` is the exit
    // state the trace was entered with (r13), not referenced by Rust code while native
    // code runs.
    let (dict, state) = unsafe { (dict_at(dict), &mut *state) };
    dict_position::<STRING_KEY>(dict, key, state).map(|position| dict.entries[position].1)
}

/// `DTAG`: the tag of the entry under the key, or -1 when there is none.
pub(crate) extern "sysv64" fn dict_tag<const STRING_KEY: bool>(dict: *mut u8, key: u64, state: *mut ExitState) -> i64 {
    dict_entry::<STRING_KEY>(dict, key, state).map_or(-1, |v| v.tag() as i64)
}

/// `DGET` of an entry that is no float: its register bits (a bool as 0/1, an object's
/// address).
pub(crate) extern "sysv64" fn dict_bits<const STRING_KEY: bool>(dict: *mut u8, key: u64, state: *mut ExitState) -> u64 {
    dict_entry::<STRING_KEY>(dict, key, state).and_then(register_bits).unwrap_or(0)
}

/// `DGET` of a float entry.
pub(crate) extern "sysv64" fn dict_float<const STRING_KEY: bool>(
    dict: *mut u8,
    key: u64,
    state: *mut ExitState,
) -> f64 {
    match dict_entry::<STRING_KEY>(dict, key, state) {
        Some(Value::Float(f)) => f,
        _ => 0.0,
    }
}

/// `DSET`: inserts or replaces the entry under the key with the value of tag `tag` and
/// payload `payload`, as the interpreter's `set_index` does (a string key becomes
/// shared: the dict holds it now), and adds the growth to `state.heap_growth`. Returns 1,
/// changing nothing, when a collection is due (the exit lets the interpreter redo it).
pub(crate) extern "sysv64" fn dict_set<const STRING_KEY: bool>(
    dict: *mut u8,
    key: u64,
    tag: u64,
    payload: u64,
    state: *mut ExitState,
) -> u64 {
    // An insert may grow the dict (see `collection_due`).
    if collection_due(state) {
        return 1;
    }
    let value = value_of(tag, payload);
    // SAFETY: `dict` is a dict value of the trace (see `dict_at`); native code holds no
    // Rust reference into it, so `get_mut` aliases nothing.
    let dict = unsafe { dict_at(dict) };
    // SAFETY: as in `dict_entry`.
    let hint = unsafe { (*state).dict_hint };
    if let Some(position) = hint.position(dict.addr() as u64, key, STRING_KEY) {
        // Replacing the entry a lookup just found, as `access::insert_entry` does (which
        // marks a text key shared, though the dict keeps its own key object).
        if hint.text_key {
            // SAFETY: a string key operand is a string value of the trace (see `dict_key`).
            unsafe { Gc::<StrObj>::from_address(key as usize) }.set_shared();
        }
        // SAFETY: `state` is the exit state the trace was entered with (r13).
        unsafe { written(&dict, state) }.entries[position].1 = value;
        return 0;
    }
    // SAFETY: as in `concat_strings`.
    let heap = unsafe { &mut *(*state).heap };
    let grown = access::insert_entry(heap, dict, dict_key::<STRING_KEY>(key), value);
    // SAFETY: `state` is the exit state the trace was entered with (r13), live for the
    // whole run and not referenced by Rust code while native code runs.
    unsafe { super::grew(dict, grown, state) };
    0
}

/// `KEYS`: the keys of the dict as a new array, as `for k in dict` iterates them; notes
/// whether a collection is due.
pub(crate) extern "sysv64" fn dict_keys(dict: *mut u8, state: *mut ExitState) -> *mut u8 {
    // SAFETY: `dict` is a dict value of the trace (see `dict_at`).
    let dict = unsafe { dict_at(dict) };
    // SAFETY: as in `concat_strings`.
    let (state, heap) = unsafe { (&mut *state, &mut *(*state).heap) };
    let Value::Array(keys) = access::dict_keys(heap, dict) else { unreachable!("the keys are an array") };
    state.must_exit = heap.wants_collection() as u64;
    keys.addr() as *mut u8
}
