//! Who may see and change a registry. Every route asks here, so the rules
//! exist once.

use super::registry::PublicationState;
use super::role::Role;

/// The signed-in person as the rules see them.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub role: Role,
    /// Whether this person is a holder of the registry in question.
    pub holds_registry: bool,
}

/// Published entries are public; the rest only for staff and the registry's holders.
pub fn may_read_registry(actor: Option<Actor>, state: PublicationState) -> bool {
    state == PublicationState::Published || actor.is_some_and(may_see_private)
}

/// Contact details and history: staff and the registry's own holders.
pub fn may_see_private(actor: Actor) -> bool {
    actor.role.is_staff() || (actor.role == Role::Holder && actor.holds_registry)
}

/// Editing the record: staff, and holders of that registry only.
pub fn may_edit_registry(actor: Actor) -> bool {
    may_see_private(actor)
}

/// Creating, publishing, withdrawing and assigning holders is the office's work.
pub fn may_manage_catalogue(role: Role) -> bool {
    role.is_staff()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, holds_registry: bool) -> Option<Actor> {
        Some(Actor {
            role,
            holds_registry,
        })
    }

    #[test]
    fn drafts_are_hidden_from_the_public_and_other_holders() {
        let draft = PublicationState::Draft;
        assert!(!may_read_registry(None, draft));
        assert!(!may_read_registry(actor(Role::Company, false), draft));
        assert!(!may_read_registry(actor(Role::Holder, false), draft));
        assert!(may_read_registry(actor(Role::Holder, true), draft));
        assert!(may_read_registry(actor(Role::Office, false), draft));
        assert!(may_read_registry(None, PublicationState::Published));
    }

    #[test]
    fn only_own_holders_and_staff_edit() {
        let edit = |role, holds| may_edit_registry(actor(role, holds).unwrap());
        assert!(edit(Role::Holder, true));
        assert!(!edit(Role::Holder, false));
        assert!(!edit(Role::Company, true));
        assert!(edit(Role::Office, false));
        assert!(edit(Role::Admin, false));
    }
}
