//! Where a state machine or rule came from. A template reload replaces what
//! the template made and leaves what was created through the API alone.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Template,
    Api,
}
