//! Interned names: field names, method names, struct names, enum names and tags.
//!
//! Invariant: the first symbols are always the built-in enum names and tags below, in
//! this order, so code can match on them as constants.

use rustc_hash::FxHashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(pub u32);

pub const SYM_RESULT: Symbol = Symbol(0);
pub const SYM_OPTION: Symbol = Symbol(1);
pub const SYM_OK: Symbol = Symbol(2);
pub const SYM_ERR: Symbol = Symbol(3);
pub const SYM_SOME: Symbol = Symbol(4);
pub const SYM_NONE: Symbol = Symbol(5);
pub const SYM_ERROR: Symbol = Symbol(6);
pub const SYM_LINE: Symbol = Symbol(7);
pub const SYM_MESSAGE: Symbol = Symbol(8);
pub const SYM_STACK: Symbol = Symbol(9);

const PREDEFINED: [&str; 10] = ["Result", "Option", "Ok", "Err", "Some", "None", "Error", "line", "message", "stack"];

#[derive(Clone, Debug)]
pub struct Interner {
    names: Vec<String>,
    ids: FxHashMap<String, Symbol>,
}

impl Default for Interner {
    fn default() -> Self {
        let mut interner = Interner { names: Vec::new(), ids: FxHashMap::default() };
        for name in PREDEFINED {
            interner.intern(name);
        }
        interner
    }
}

impl Interner {
    pub fn intern(&mut self, name: &str) -> Symbol {
        if let Some(&s) = self.ids.get(name) {
            return s;
        }
        let s = Symbol(self.names.len() as u32);
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), s);
        s
    }

    pub fn lookup(&self, name: &str) -> Option<Symbol> {
        self.ids.get(name).copied()
    }

    pub fn name(&self, s: Symbol) -> &str {
        &self.names[s.0 as usize]
    }
}
