import ConcordHubStore
import Hummingbird
import Prometheus

/// The hub's Prometheus metrics, on a registry of its own (so several hubs in one process, as in
/// tests, do not share counters): uploads by outcome, rows loaded, request latency by endpoint, and
/// problems by code.
struct HubMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    func uploadFinished(outcome: String) {
        registry.makeCounter(descriptor: Self.uploads, labels: [("outcome", outcome)]).increment()
    }

    func rowsLoaded(_ rows: Int, dataset: String) {
        registry.makeCounter(descriptor: Self.rows, labels: [("dataset", dataset)]).increment(by: Int64(rows))
    }

    func requestFinished(endpoint: HubEndpoint, status: Int, duration: Duration) {
        registry.makeDurationHistogram(descriptor: Self.latency, labels: [("operation", endpoint.operationID), ("status", String(status))],
                                       buckets: Self.latencyBuckets).record(duration)
    }

    func problem(_ code: String) {
        registry.makeCounter(descriptor: Self.problems, labels: [("code", code)]).increment()
    }

    /// Sets how many agreements' reviews are overdue, due within 30 days, or not due.
    func agreementReviews(_ counts: [ReviewState: Int]) {
        for state in ReviewState.allCases {
            registry.makeGauge(descriptor: Self.reviews, labels: [("review", state.rawValue)]).set(Int64(counts[state] ?? 0))
        }
    }

    /// The text exposition format.
    var exposition: [UInt8] { registry.emitToBuffer() }

    // Computed: the descriptor type is not Sendable, so it cannot be a stored static.
    private static var uploads: MetricNameDescriptor { MetricNameDescriptor(namespace: "concord", metricName: "uploads", unitName: "total",
                                                      helpText: "Uploads completed, by outcome (accepted, refused).") }
    private static var rows: MetricNameDescriptor { MetricNameDescriptor(namespace: "concord", metricName: "rows_loaded", unitName: "total",
                                                   helpText: "Rows loaded into dataset tables, by dataset.") }
    private static var latency: MetricNameDescriptor { MetricNameDescriptor(namespace: "concord", metricName: "request_duration", unitName: "seconds",
                                                      helpText: "Time to answer a request, by operation and status.") }
    private static var problems: MetricNameDescriptor { MetricNameDescriptor(namespace: "concord", metricName: "problems", unitName: "total",
                                                       helpText: "Problem answers (4xx and 5xx), by code.") }
    private static var reviews: MetricNameDescriptor { MetricNameDescriptor(namespace: "concord", metricName: "agreement_reviews", unitName: "count",
                                                      helpText: "Agreements by review state (overdue, due within 30 days, not-due).") }
    private static let latencyBuckets: [Duration] = [.milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500),
                                                     .seconds(2), .seconds(10), .seconds(60)]
}
