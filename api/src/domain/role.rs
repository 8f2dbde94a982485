//! Who a user is to the catalogue.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Pharma or device company staff: read the catalogue, send inquiries.
    Company,
    /// Keeps the registries assigned to them up to date.
    Holder,
    /// CIN office staff: load, publish, assign, route.
    Office,
    /// Everything the office may do, and managing office and admin accounts.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Company => "company",
            Role::Holder => "holder",
            Role::Office => "office",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "company" => Some(Role::Company),
            "holder" => Some(Role::Holder),
            "office" => Some(Role::Office),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Office staff and admins run the catalogue.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Office | Role::Admin)
    }

    /// Which roles an account of this role may create: the office signs up
    /// companies and holders; only an admin creates staff.
    pub fn may_create(self, new: Role) -> bool {
        match self {
            Role::Admin => true,
            Role::Office => matches!(new, Role::Company | Role::Holder),
            Role::Company | Role::Holder => false,
        }
    }
}
