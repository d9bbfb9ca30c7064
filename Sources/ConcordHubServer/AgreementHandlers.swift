import ConcordCore
import ConcordHubStore
import Hummingbird

extension HubService {
    /// `POST /v1/agreements/{agreement_id}/suspend` and `/terminate` (docs/retention.md section 3):
    /// from this answer on, everything under the agreement is refused.
    func changeAgreementState(_ request: Request, _ context: HubRequestContext, _ caller: Authenticated,
                              to status: AgreementStateChange.Status) async throws -> Response {
        let user = try person(caller)
        let reason = try DecisionBody.validReason(try await Self.jsonBody(DecisionBody.self, of: request).reason)
        guard let id = context.parameters.get("agreement_id") else { throw Problem(.notFound, "agreement.not-found", "no agreement named") }
        // An IG officer may stop only agreements they are a party's IG contact or an approver of.
        if user.role == .igOfficer, let held = try await store.heldAgreements(catalogue: catalogue)[id]?.agreement,
           !held.igContacts.map(\.id).contains(user.id), !held.outputs.approvers.contains(user.id) {
            throw Problem.forbidden("agreement.not-a-contact", "\(user.id) is not an IG contact or approver of \(id)")
        }
        let change: AgreementStateChange
        do {
            change = try await store.changeAgreementState(id: id, to: status, reason: reason, on: today, by: .user(user.id))
        } catch let error as HubStoreError {
            guard case .agreementState = error else { throw error }
            throw Problem(.conflict, "agreement.state", error.description)
        }
        return try json(.object([
            "agreement": .string(change.agreementID), "version": .integer(change.agreementVersion), "status": .string(change.status.rawValue),
            "reason": .string(change.reason), "on": .string(change.decidedOn.description),
        ]), status: .ok)
    }
}
