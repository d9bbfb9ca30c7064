import ArgumentParser
import ConcordCore
import ConcordHubServer
import ConcordHubStore
import Foundation

extension HubCommand {
    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bring agreements' person linkage up to date and print the linkage report.",
            discussion: """
            A running hub links by itself after every published extract; this runs the same
            incremental update by hand (after a restore, or to see the figures). Only key tuples that
            appeared or disappeared since the last run, and the persons they touch, are matched
            again; persons keep their numbers while the evidence holds. Each run is audited as
            linkage.update. The report holds counts and rates only (docs/linkage.md, section 5).

            Examples:
              concord hub link --config hub.yaml
              concord hub link --config hub.yaml --agreement school-readiness --format json
              concord hub link --config hub.yaml --agreement school-readiness --rebuild
            """
        )
        @OptionGroup var hub: HubConfigOptions

        @Option(help: ArgumentHelp("Link only this agreement (default: every agreement in force that permits linkage).", valueName: "id"))
        var agreement: String?

        @Flag(help: "Forget the persons found so far and link everything afresh. Persons get new numbers, so person ids in later outputs differ from earlier ones.")
        var rebuild = false

        @Option(help: "Output format.")
        var format: OutputFormat = .text

        func run() async throws {
            let (configuration, catalogue) = try hub.loadWithCatalogue()
            let reports = try await hub.withStore(configuration, catalogue: catalogue) { store in
                try await store.updateLinkages(catalogue: catalogue, actor: hub.actor, rebuild: rebuild) { agreement == nil || $0.id == agreement }
            }
            if let agreement, reports.isEmpty { throw ValidationError("no agreement \(agreement) in force that permits linkage") }
            switch format {
            case .json:
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(reports), as: UTF8.self))
            case .text:
                for report in reports { print(report.text) }
            }
        }
    }
}

extension LinkageReport {
    /// The report for people: one figure per line, rates as percentages.
    var text: String {
        func percent(_ rate: Double) -> String { String(format: "%.1f%%", rate * 100) }
        var lines = ["\(agreement) v\(agreementVersion): \(persons) persons (run \(run.run): \(run.newNodes) new and \(run.removedNodes) removed key tuples, \(run.clusteredNodes) clustered, \(run.merges) merges, \(run.splits) splits, \(run.milliseconds) ms: " + run.phases.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"]
        for dataset in datasets {
            lines.append("  \(dataset.dataset): \(dataset.records) records, \(dataset.linkedRecords) linked (\(percent(dataset.matchRate)))")
        }
        lines.append("  linked by: " + linkedBy.map { "\($0.key) \($0.records) (\(percent($0.rate)))" }.joined(separator: ", "))
        for pair in pairs {
            lines.append("  \(pair.dataset) with \(pair.other): \(pair.records) records (\(percent(pair.rate)))")
        }
        lines.append("  persons by records: " + clusterSizes.map { "\($0.size): \($0.persons)" }.joined(separator: ", "))
        let conflicts = run.conflicts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        lines.append("  flagged persons (unique key disagrees): \(flaggedPersons)" + (conflicts.isEmpty ? "" : "; refused joins this run: " + conflicts.joined(separator: ", ")))
        if let fuzzy = run.fuzzy {
            lines.append("  fuzzy pass: \(fuzzy.candidates) candidates, \(fuzzy.comparisons) comparisons, \(fuzzy.links) links, \(fuzzy.reviewPairs) uncertain pairs in the review band (not merged)")
            for (dataset, fingerprint) in fuzzy.refusedDatasets.sorted(by: { $0.key < $1.key }) {
                lines.append("  fuzzy pass refused \(dataset): encoded under other parameters (\(fingerprint)); never compared")
            }
        }
        return lines.joined(separator: "\n")
    }
}
