import ConcordCore

/// The shipped dataset schemas, which agreements are checked against.
let shippedCatalogue = SchemaCatalogue(try! ["csc_referrals", "school_attendance", "police_da_incidents", "housing_cases"].map(shippedSchema))

/// A small valid agreement; tests change one line of it at a time.
let fixtureAgreementYAML = """
format: concord-agreement/1
id: test-agreement
version: 2
title: Test agreement
status: active
validity: {start: 2026-01-01, end: 2027-12-31}
next_review: 2026-12-01
purpose:
  code: EH-DA
  statement: Early help for households at risk of domestic abuse.
  permitted_uses: [Aggregate analysis of co-occurring need]
  prohibitions: [re_identification, onward_sharing]
lawful_basis:
  article_6: {basis: public_task, citation: "UK GDPR Art. 6(1)(e)"}
  article_9: {condition: substantial_public_interest, citation: "DPA 2018 Sch. 1 para. 18"}
  article_10: {condition: dpa_schedule_1, citation: "DPA 2018 Sch. 1 para. 18"}
parties:
  providers:
    - agency: county-childrens
      name: County Children's Services
      role: controller
      ig_contact: {id: ig-officer, name: Ida Grant, email: ig@county.example}
      datasets:
        - dataset: csc_referrals
          schema_version: 1
          fields: [ReferralDate, ReferralSource, {field: DOB, generalise: year}, Ethnicity]
          retention: P2Y
    - agency: county-police
      name: County Police
      role: controller
      ig_contact: {id: p-ives, name: Pat Ives, email: ig@police.example}
      datasets:
        - dataset: police_da_incidents
          schema_version: 1
          fields: [INCIDENT_DATE, DASH_RISK, OFFENCE_CATEGORY]
          retention: P18M
  recipients:
    - group: county-analytics
      name: County Analytics
      people: [{id: a-analyst, name: Alex Analyst}, {id: b-analyst, name: Bo Analyst}]
      ig_contact: {id: i-gale, name: Ivy Gale, email: ig@analytics.example}
  signatories:
    - {name: Sam Signer, role: Caldicott Guardian, party: county-childrens, date: 2025-12-01}
linkage:
  permitted: true
  datasets: [csc_referrals, police_da_incidents]
  match_keys: [mk2, mk3, mk3_swapped]
outputs:
  level: aggregate
  minimum_cell_count: 10
  rounding_base: 5
  approval: {required: true, approvers: [ig-officer, p-ives]}
retention:
  on_end: {delete_within: P30D}
security:
  encryption_in_transit: required
  encryption_at_rest: required
  analyst_environment: secure_research_environment
"""

let fixtureAgreement = try! Agreement(yaml: fixtureAgreementYAML, file: "test-agreement.yaml", catalogue: shippedCatalogue)
