//! The demo's sample directory: about 2,000 people with realistic names in 50 groups
//! (departments, offices, projects), a few service accounts and some inactive users. The same
//! every time: names come from a small deterministic generator, not from chance.

use model::{GroupName, ImportRecord, MembershipRef, NewGroup, NewUser, UserKind, Username};

const FIRST: &[&str] = &[
    "Amelia", "Oliver", "Isla", "Noah", "Ava", "Leo", "Mia", "Lucas", "Sofia", "Ethan", "Chloe",
    "Mateo", "Zoe", "Hugo", "Lena", "Arjun", "Priya", "Kenji", "Yuki", "Omar", "Layla", "Tomas",
    "Ingrid", "Felix", "Nadia", "Diego", "Elena", "Samuel", "Aisha", "Jonas", "Clara", "Rafael",
    "Maya", "Viktor", "Hana", "Emil", "Freya", "Malik", "Rosa", "Anton",
];

const LAST: &[&str] = &[
    "Smith",
    "Garcia",
    "Müller",
    "Nguyen",
    "Kowalski",
    "Rossi",
    "Tanaka",
    "Okafor",
    "Dubois",
    "Johansson",
    "Silva",
    "Patel",
    "O'Brien",
    "Novak",
    "Haddad",
    "Fischer",
    "Kim",
    "Lopez",
    "Andersen",
    "Moreau",
    "Costa",
    "Ivanova",
    "Yilmaz",
    "Schmidt",
    "Brown",
    "Wilson",
    "Chen",
    "Martin",
    "Khan",
    "Berg",
    "Santos",
    "Larsen",
    "Dimitrov",
    "Ward",
    "Byrne",
    "Hughes",
    "Lindqvist",
    "Sato",
    "Mensah",
    "Varga",
];

pub const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "Legal",
    "Human Resources",
    "Support",
    "Operations",
    "Product",
    "Design",
    "Research",
    "Security",
    "IT",
    "Procurement",
    "Facilities",
    "Data",
    "Quality",
    "Customer Success",
    "Partnerships",
    "Communications",
];

pub const OFFICES: &[&str] = &[
    "Office Berlin",
    "Office Lisbon",
    "Office Toronto",
    "Office Singapore",
    "Office Nairobi",
    "Office Austin",
    "Office Osaka",
    "Office Dublin",
    "Office São Paulo",
    "Office Warsaw",
];

pub const PROJECTS: &[&str] = &[
    "Project Aurora",
    "Project Basalt",
    "Project Cirrus",
    "Project Delta",
    "Project Ember",
    "Project Fjord",
    "Project Granite",
    "Project Harbor",
    "Project Iris",
    "Project Juniper",
    "Project Kestrel",
    "Project Lumen",
    "Project Meridian",
    "Project Nimbus",
    "Project Onyx",
    "Project Prism",
    "Project Quartz",
    "Project Raven",
    "Project Sable",
    "Project Tundra",
];

/// The sample: groups first, then users, then memberships, ready to import.
pub struct Sample {
    pub records: Vec<ImportRecord>,
    pub users: usize,
    pub groups: usize,
    pub memberships: usize,
}

/// A small linear congruential generator: the demo is the same on every machine.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % below as u64) as usize
    }
}

/// `people` people, with a few service accounts and inactive users among them.
pub fn sample(people: usize, domain: &str) -> Result<Sample, model::ValidationError> {
    let mut rng = Lcg(0x5eed);
    let mut records = Vec::new();
    let groups: Vec<&str> = DEPARTMENTS
        .iter()
        .chain(OFFICES)
        .chain(PROJECTS)
        .copied()
        .collect();
    for name in &groups {
        records.push(ImportRecord::Group(NewGroup::new(GroupName::parse(*name)?)));
    }
    let mut memberships = Vec::new();
    let mut taken = std::collections::HashSet::new();
    for n in 0..people {
        let first = FIRST[rng.next(FIRST.len())];
        let last = LAST[rng.next(LAST.len())];
        let base = format!(
            "{}.{}",
            mapping::text::fold_to_ascii(first).to_lowercase(),
            mapping::text::fold_to_ascii(last)
                .to_lowercase()
                .replace('\'', "")
        );
        let mut username = base.clone();
        let mut suffix = 2;
        while !taken.insert(username.clone()) {
            username = format!("{base}{suffix}");
            suffix += 1;
        }
        let mut user = NewUser::new(Username::parse(username.clone())?);
        user.name = Some(format!("{first} {last}"));
        user.email = Some(model::Email::parse(format!("{username}@{domain}"))?);
        // One in 60 has left (inactive: synced disabled).
        user.is_active = n % 60 != 59;
        records.push(ImportRecord::User(user));
        let mut join = |group: &str| {
            memberships.push(ImportRecord::Membership(MembershipRef {
                group: GroupName::parse(group).ok()?,
                user: Username::parse(username.clone()).ok()?,
            }));
            Some(())
        };
        join(DEPARTMENTS[rng.next(DEPARTMENTS.len())]);
        join(OFFICES[rng.next(OFFICES.len())]);
        if rng.next(3) == 0 {
            join(PROJECTS[rng.next(PROJECTS.len())]);
        }
    }
    for name in ["svc-backup", "svc-monitoring", "svc-build"] {
        let mut service = NewUser::new(Username::parse(name)?);
        service.kind = UserKind::ServiceAccount;
        service.email = Some(model::Email::parse(format!("{name}@{domain}"))?);
        records.push(ImportRecord::User(service));
    }
    let users = people + 3;
    let count = memberships.len();
    records.extend(memberships);
    Ok(Sample {
        records,
        users,
        groups: groups.len(),
        memberships: count,
    })
}
