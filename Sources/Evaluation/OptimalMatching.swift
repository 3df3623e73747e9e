import Assignment

/// Optimal one-to-one matching for scoring, on the tracker's own solver: the full
/// rectangular assignment (min(rows, columns) pairs) that TrackEval gets from scipy.
enum OptimalMatching {
    /// Pairs (row, column), each row and column at most once, min(rows, columns) of
    /// them, whose total `score` is the largest possible. `score` is row-major.
    static func maximize(_ score: [Double], rows: Int, columns: Int) throws -> [(row: Int, column: Int)] {
        do {
            return try LinearAssignment.minimumCost(costs: score.map { -$0 }, rows: rows, columns: columns)
                .map { (row: $0.row, column: $0.column) }
        } catch let error as LinearAssignment.InvalidCost {
            throw EvaluationError("a box is too large to score (\(error))")
        }
    }
}
