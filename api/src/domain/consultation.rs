//! The consultation desk's rules: the states of an inquiry and of each
//! registry it is about, which role may make which move, who holds the ball,
//! and when a time limit runs out. No I/O happens here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::business_days;
use super::role::Role;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)* _ => None }
            }
        }
    };
}

string_enum! {
    /// What the company asks about.
    ConsultationKind {
        /// Using a registry's data.
        DataUse => "data_use",
        /// Research together with the registry's holder.
        JointResearch => "joint_research",
        /// Use for a regulatory purpose (post-marketing, external control arm).
        RegulatoryUse => "regulatory_use",
        /// Help building a new registry.
        RegistryBuilding => "registry_building",
        Other => "other",
    }
}

string_enum! {
    /// Where an inquiry as a whole stands.
    ConsultationState {
        /// Sent by the company; the office has not looked yet.
        Submitted => "submitted",
        /// The office is working out what is asked and whom to ask.
        InTriage => "in_triage",
        /// The office asked the requester something and waits for the answer.
        WaitingForRequester => "waiting_for_requester",
        /// Sent to the holders of the registries; each answers for their own.
        Forwarded => "forwarded",
        Agreed => "agreed",
        Declined => "declined",
        ConcludedWithoutAgreement => "concluded_without_agreement",
        /// Taken back by the requester.
        Withdrawn => "withdrawn",
        /// Closed by the office (out of scope, duplicate, ...).
        Closed => "closed",
    }
}

string_enum! {
    /// Where one registry's holder stands on an inquiry.
    RegistryAnswerState {
        /// The inquiry has not been forwarded to this registry yet.
        Pending => "pending",
        Contacted => "contacted",
        Checking => "checking",
        Available => "available",
        NotAvailable => "not_available",
        ConditionsStated => "conditions_stated",
        ConditionsAccepted => "conditions_accepted",
        ConditionsDeclined => "conditions_declined",
        /// The data or the collaboration was provided.
        Provided => "provided",
    }
}

/// Whose move it is, as the rules see the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The requesting company (any account of its organisation).
    Requester,
    /// A holder of the registry in question.
    Holder,
    Office,
}

impl Party {
    /// The party a role acts as on an inquiry; holders only for their own registries.
    pub fn of(role: Role, is_requester: bool, holds_registry: bool) -> Option<Party> {
        match role {
            Role::Office | Role::Admin => Some(Party::Office),
            Role::Company if is_requester => Some(Party::Requester),
            Role::Holder if holds_registry => Some(Party::Holder),
            _ => None,
        }
    }
}

impl ConsultationState {
    /// Still being worked on: the requester may withdraw, the office may close.
    pub fn is_open(self) -> bool {
        use ConsultationState::*;
        matches!(self, Submitted | InTriage | WaitingForRequester | Forwarded)
    }

    /// An outcome (counts as a decision in the figures).
    pub fn is_decision(self) -> bool {
        use ConsultationState::*;
        matches!(self, Agreed | Declined | ConcludedWithoutAgreement)
    }

    /// Every move from this state: (target, who may make it).
    fn moves(self) -> Vec<(ConsultationState, Party)> {
        use ConsultationState::*;
        let mut moves = match self {
            Submitted => vec![(InTriage, Party::Office)],
            InTriage => vec![
                (WaitingForRequester, Party::Office),
                (Forwarded, Party::Office),
                (Declined, Party::Office),
            ],
            WaitingForRequester => vec![(InTriage, Party::Requester), (InTriage, Party::Office)],
            Forwarded => vec![
                (Agreed, Party::Office),
                (Declined, Party::Office),
                (ConcludedWithoutAgreement, Party::Office),
            ],
            Agreed | Declined | ConcludedWithoutAgreement | Withdrawn | Closed => vec![],
        };
        if self.is_open() {
            moves.push((Withdrawn, Party::Requester));
            moves.push((Closed, Party::Office));
        }
        moves
    }

    /// The states `party` may move this inquiry to.
    pub fn allowed_moves(self, party: Option<Party>) -> Vec<ConsultationState> {
        let Some(party) = party else {
            return Vec::new();
        };
        self.moves()
            .into_iter()
            .filter(|(_, p)| *p == party)
            .map(|(to, _)| to)
            .collect()
    }
}

impl RegistryAnswerState {
    fn moves(self) -> Vec<(RegistryAnswerState, Party)> {
        use RegistryAnswerState::*;
        match self {
            Contacted => vec![
                (Checking, Party::Holder),
                (Available, Party::Holder),
                (NotAvailable, Party::Holder),
            ],
            Checking => vec![(Available, Party::Holder), (NotAvailable, Party::Holder)],
            Available => vec![(ConditionsStated, Party::Holder)],
            ConditionsStated => vec![
                (ConditionsAccepted, Party::Requester),
                (ConditionsDeclined, Party::Requester),
            ],
            ConditionsAccepted => vec![(Provided, Party::Holder)],
            Pending | NotAvailable | ConditionsDeclined | Provided => vec![],
        }
    }

    /// The states `party` may move this registry's answer to, while the
    /// inquiry is `inquiry` (registries answer only while it is forwarded).
    pub fn allowed_moves(
        self,
        inquiry: ConsultationState,
        party: Option<Party>,
    ) -> Vec<RegistryAnswerState> {
        let Some(party) = party else {
            return Vec::new();
        };
        if inquiry != ConsultationState::Forwarded {
            return Vec::new();
        }
        self.moves()
            .into_iter()
            .filter(|(_, p)| *p == party)
            .map(|(to, _)| to)
            .collect()
    }

    /// Nothing more is expected of anyone for this registry.
    pub fn is_settled(self) -> bool {
        use RegistryAnswerState::*;
        matches!(self, NotAvailable | ConditionsDeclined | Provided)
    }

    /// Who must act next for this registry while the inquiry is forwarded.
    pub fn ball(self, holder_unreachable: bool) -> Option<Party> {
        use RegistryAnswerState::*;
        match self {
            Pending | NotAvailable | ConditionsDeclined | Provided => None,
            ConditionsStated => Some(Party::Requester),
            // Nobody can answer for a registry without a holder account: the
            // office must find someone.
            _ if holder_unreachable => Some(Party::Office),
            Contacted | Checking | Available | ConditionsAccepted => Some(Party::Holder),
        }
    }
}

/// Who must act on the inquiry as a whole. While it is forwarded the
/// registries hold the ball; once all are settled, the office decides.
pub fn inquiry_ball(state: ConsultationState, all_registries_settled: bool) -> Option<Party> {
    use ConsultationState::*;
    match state {
        Submitted | InTriage => Some(Party::Office),
        WaitingForRequester => Some(Party::Requester),
        Forwarded if all_registries_settled => Some(Party::Office),
        Forwarded => None,
        Agreed | Declined | ConcludedWithoutAgreement | Withdrawn | Closed => None,
    }
}

/// Time limits in Japanese business days, per party holding the ball.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaLimits {
    /// The office takes a new inquiry into triage.
    pub submitted_days: u32,
    /// The office moves an inquiry in triage on, or decides once every registry answered.
    pub office_days: u32,
    /// The requester answers a question or a holder's conditions.
    pub requester_days: u32,
    /// A holder writes or moves their registry's answer.
    pub holder_days: u32,
    /// Past the limit by this many more business days, the office is told.
    pub escalation_days: u32,
}

impl Default for SlaLimits {
    fn default() -> Self {
        SlaLimits {
            submitted_days: 2,
            office_days: 5,
            requester_days: 10,
            holder_days: 5,
            escalation_days: 5,
        }
    }
}

impl SlaLimits {
    /// The limit for `party` holding the ball; `fresh` for an inquiry still submitted.
    pub fn limit(&self, party: Party, fresh: bool) -> u32 {
        match party {
            Party::Office if fresh => self.submitted_days,
            Party::Office => self.office_days,
            Party::Requester => self.requester_days,
            Party::Holder => self.holder_days,
        }
    }
}

/// How late a party is on one thing they must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lateness {
    OnTime,
    /// Past the limit: remind whoever holds the ball.
    Overdue,
    /// Far past it: remind them, and tell the office.
    FarOverdue,
}

/// When the clock started (state entered or last activity) and the limit decide.
pub fn lateness(
    since: DateTime<Utc>,
    limit_days: u32,
    escalation_days: u32,
    now: DateTime<Utc>,
) -> Lateness {
    if now < business_days::deadline(since, limit_days) {
        Lateness::OnTime
    } else if now < business_days::deadline(since, limit_days + escalation_days) {
        Lateness::Overdue
    } else {
        Lateness::FarOverdue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConsultationState as S;
    use RegistryAnswerState as R;

    #[test]
    fn each_party_has_only_its_own_inquiry_moves() {
        assert_eq!(
            S::Submitted.allowed_moves(Some(Party::Office)),
            vec![S::InTriage, S::Closed]
        );
        assert_eq!(
            S::Submitted.allowed_moves(Some(Party::Requester)),
            vec![S::Withdrawn]
        );
        assert!(S::Submitted.allowed_moves(Some(Party::Holder)).is_empty());
        assert!(S::Submitted.allowed_moves(None).is_empty());
        assert_eq!(
            S::WaitingForRequester.allowed_moves(Some(Party::Requester)),
            vec![S::InTriage, S::Withdrawn]
        );
        assert_eq!(
            S::Forwarded.allowed_moves(Some(Party::Office)),
            vec![
                S::Agreed,
                S::Declined,
                S::ConcludedWithoutAgreement,
                S::Closed
            ]
        );
        for done in [
            S::Agreed,
            S::Declined,
            S::ConcludedWithoutAgreement,
            S::Withdrawn,
            S::Closed,
        ] {
            for party in [Party::Office, Party::Requester, Party::Holder] {
                assert!(done.allowed_moves(Some(party)).is_empty(), "{done:?}");
            }
        }
    }

    #[test]
    fn registries_answer_only_while_forwarded_and_in_turn() {
        let holder = Some(Party::Holder);
        let requester = Some(Party::Requester);
        assert!(R::Contacted.allowed_moves(S::InTriage, holder).is_empty());
        assert_eq!(
            R::Contacted.allowed_moves(S::Forwarded, holder),
            vec![R::Checking, R::Available, R::NotAvailable]
        );
        assert!(R::Contacted
            .allowed_moves(S::Forwarded, requester)
            .is_empty());
        assert_eq!(
            R::ConditionsStated.allowed_moves(S::Forwarded, requester),
            vec![R::ConditionsAccepted, R::ConditionsDeclined]
        );
        assert!(R::ConditionsStated
            .allowed_moves(S::Forwarded, holder)
            .is_empty());
        assert!(R::Provided.allowed_moves(S::Forwarded, holder).is_empty());
        assert!(R::Checking
            .allowed_moves(S::Forwarded, Some(Party::Office))
            .is_empty());
    }

    #[test]
    fn the_ball_is_with_whoever_must_act() {
        assert_eq!(R::Contacted.ball(false), Some(Party::Holder));
        assert_eq!(R::Contacted.ball(true), Some(Party::Office));
        assert_eq!(R::ConditionsStated.ball(true), Some(Party::Requester));
        assert_eq!(R::Provided.ball(false), None);
        assert_eq!(inquiry_ball(S::Forwarded, false), None);
        assert_eq!(inquiry_ball(S::Forwarded, true), Some(Party::Office));
        assert_eq!(
            inquiry_ball(S::WaitingForRequester, false),
            Some(Party::Requester)
        );
        assert_eq!(inquiry_ball(S::Agreed, true), None);
    }

    #[test]
    fn lateness_follows_business_days() {
        use chrono::TimeZone;
        // Tuesday 24 Nov 2026 18:00 JST; 5 days: Tuesday 1 Dec; 10 days: Tuesday 8 Dec.
        let since = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        let at = |d, h| Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap();
        assert_eq!(lateness(since, 5, 5, at(1, 8)), Lateness::OnTime);
        assert_eq!(lateness(since, 5, 5, at(1, 9)), Lateness::Overdue);
        assert_eq!(lateness(since, 5, 5, at(8, 8)), Lateness::Overdue);
        assert_eq!(lateness(since, 5, 5, at(8, 9)), Lateness::FarOverdue);
    }
}
