import Foundation

/// `date` in UTC as ISO 8601's basic format, `20261130T010203Z`: for names that sort
/// by time (stream logs, jobs submitted over HTTP).
func basicUTCTimestamp(_ date: Date = Date()) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
    return formatter.string(from: date)
}
