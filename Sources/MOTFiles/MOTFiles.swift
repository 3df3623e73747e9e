import Foundation
import Geometry

/// One line of a MOTChallenge text file: `frame,id,left,top,width,height,conf,…`.
///
/// The same layout serves three files with different meanings of the tail:
/// - `det.txt` (detections): id is -1, `confidence` the detector's score;
/// - `gt.txt` (ground truth): `confidence` is the mark (0 = ignore), then class and visibility;
/// - results: id is the track id, `confidence` the score, the rest -1.
public struct MOTRecord: Sendable, Equatable {
    /// 1-based frame number.
    public var frame: Int
    public var id: Int
    public var left: Double
    public var top: Double
    public var width: Double
    public var height: Double
    /// Column 7: detection score, ground-truth mark, or result score; 1 when absent.
    public var confidence: Double
    /// Column 8 (ground truth: class id), if present.
    public var classID: Int?
    /// Column 9 (ground truth: visibility ratio), if present.
    public var visibility: Double?

    public init(
        frame: Int, id: Int, left: Double, top: Double, width: Double, height: Double,
        confidence: Double = 1, classID: Int? = nil, visibility: Double? = nil
    ) {
        self.frame = frame
        self.id = id
        self.left = left
        self.top = top
        self.width = width
        self.height = height
        self.confidence = confidence
        self.classID = classID
        self.visibility = visibility
    }

    public var box: Box { Box(left: left, top: top, width: width, height: height) }
}

/// A line of a MOTChallenge file that could not be read, named by file and line.
public struct MOTFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based line number; 0 when the whole file is at fault.
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)"
    }
}

public enum MOTText {
    /// Parses MOTChallenge text. Fields are separated by commas or whitespace; blank
    /// lines are skipped. `file` names the source in errors.
    public static func parse(_ text: String, file: String) throws -> [MOTRecord] {
        var records: [MOTRecord] = []
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let fields = line.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            func fail(_ message: String) -> MOTFileError {
                MOTFileError(file: file, line: lineNumber, message: message + ": '\(line.prefix(120))'")
            }
            guard fields.count >= 6 else {
                throw fail("expected at least 6 fields (frame,id,x,y,w,h), found \(fields.count)")
            }
            var numbers: [Double] = []
            numbers.reserveCapacity(fields.count)
            for (i, field) in fields.enumerated() {
                guard let value = Double(field), value.isFinite else {
                    throw fail("field \(i + 1) is not a number")
                }
                numbers.append(value)
            }
            guard numbers[0] >= 1, numbers[0] == numbers[0].rounded(), numbers[0] < 1e9 else {
                throw fail("frame must be a whole number from 1")
            }
            guard numbers[1] == numbers[1].rounded(), abs(numbers[1]) < 1e15 else {
                throw fail("id must be a whole number")
            }
            guard numbers[4] >= 0, numbers[5] >= 0 else {
                throw fail("box width and height must not be negative")
            }
            records.append(
                MOTRecord(
                    frame: Int(numbers[0]), id: Int(numbers[1]),
                    left: numbers[2], top: numbers[3], width: numbers[4], height: numbers[5],
                    confidence: numbers.count > 6 ? numbers[6] : 1,
                    classID: numbers.count > 7 ? Int(exactly: numbers[7].rounded()) : nil,
                    visibility: numbers.count > 8 ? numbers[8] : nil))
        }
        return records
    }

    /// Reads and parses a file.
    public static func read(_ path: String) throws -> [MOTRecord] {
        try parse(readText(path), file: path)
    }

    /// One results line: `frame,id,x,y,w,h,score,-1,-1,-1`.
    public static func resultLine(_ r: MOTRecord) -> String {
        var bytes: [UInt8] = []
        appendResultLine(r, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends one results line (without a newline): the byte-level form of
    /// `resultLine`, for exporting millions of boxes without a String per number.
    public static func appendResultLine(_ r: MOTRecord, to bytes: inout [UInt8]) {
        bytes.appendDecimal(r.frame)
        bytes.append(UInt8(ascii: ","))
        bytes.appendDecimal(r.id)
        bytes.append(UInt8(ascii: ","))
        appendNumber(r.left, to: &bytes)
        bytes.append(UInt8(ascii: ","))
        appendNumber(r.top, to: &bytes)
        bytes.append(UInt8(ascii: ","))
        appendNumber(r.width, to: &bytes)
        bytes.append(UInt8(ascii: ","))
        appendNumber(r.height, to: &bytes)
        bytes.append(UInt8(ascii: ","))
        appendNumber(r.confidence, to: &bytes)
        bytes.append(contentsOf: ",-1,-1,-1".utf8)
    }

    /// Up to 2 decimals, trailing zeros dropped: MOTChallenge files are read as floats.
    static func appendNumber(_ value: Double, to bytes: inout [UInt8]) {
        guard value.isFinite, abs(value) < 1e15 else { return bytes.append(contentsOf: value.description.utf8) }
        let cents = Int((value * 100).rounded())
        if cents < 0 { bytes.append(UInt8(ascii: "-")) }
        let a = abs(cents)
        let fraction = a % 100
        bytes.appendDecimal(a / 100)
        guard fraction != 0 else { return }
        bytes.append(UInt8(ascii: "."))
        bytes.append(UInt8(ascii: "0") + UInt8(fraction / 10))
        if fraction % 10 != 0 { bytes.append(UInt8(ascii: "0") + UInt8(fraction % 10)) }
    }
}

/// A sequence's `seqinfo.ini`: `[Sequence]` with name, frameRate, seqLength,
/// imWidth, imHeight.
public struct SequenceInfo: Sendable, Equatable {
    public var name: String
    public var frameRate: Double
    public var length: Int
    public var width: Int
    public var height: Int

    public init(name: String, frameRate: Double, length: Int, width: Int, height: Int) {
        self.name = name
        self.frameRate = frameRate
        self.length = length
        self.width = width
        self.height = height
    }

    public static func parse(_ text: String, file: String) throws -> SequenceInfo {
        var values: [String: (value: String, line: Int)] = [:]
        var section = ""
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix(";") || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else {
                    throw MOTFileError(file: file, line: index + 1, message: "unterminated section header '\(line)'")
                }
                section = String(line.dropFirst().dropLast()).lowercased()
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw MOTFileError(file: file, line: index + 1, message: "expected key=value, found '\(line)'")
            }
            if section == "sequence" {
                let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
                values[key] = (line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces), index + 1)
            }
        }
        func number(_ key: String) throws -> Double {
            guard let entry = values[key.lowercased()] else {
                throw MOTFileError(file: file, line: 0, message: "[Sequence] has no \(key)")
            }
            guard let value = Double(entry.value), value.isFinite, value > 0 else {
                throw MOTFileError(
                    file: file, line: entry.line, message: "\(key) must be a positive number, found '\(entry.value)'")
            }
            return value
        }
        // Counts and sizes: whole numbers, bounded as det.txt frames are (a bigger one
        // would not fit an Int, or would ask for a run that never ends).
        func count(_ key: String) throws -> Int {
            let value = try number(key)
            guard value == value.rounded(), value < 1e9 else {
                throw MOTFileError(
                    file: file, line: values[key.lowercased()]?.line ?? 0,
                    message: "\(key) must be a whole number from 1 to 999999999, found '\(values[key.lowercased()]?.value ?? "")'"
                )
            }
            return Int(value)
        }
        return SequenceInfo(
            name: values["name"]?.value ?? "", frameRate: try number("frameRate"),
            length: try count("seqLength"), width: try count("imWidth"), height: try count("imHeight"))
    }

    public static func read(_ path: String) throws -> SequenceInfo {
        try parse(readText(path), file: path)
    }
}

/// A file's text, or an error that names the file and says why it cannot be read.
func readText(_ path: String) throws -> String {
    do {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let text = String(data: data, encoding: .utf8) else {
            throw MOTFileError(file: path, line: 0, message: "not UTF-8 text")
        }
        return text
    } catch let error as MOTFileError {
        throw error
    } catch {
        let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file"
        throw MOTFileError(file: path, line: 0, message: reason)
    }
}
