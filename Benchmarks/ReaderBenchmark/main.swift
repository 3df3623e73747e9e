// Decodes and converts every frame of a video with VideoIO.FrameReader and prints
// one line of JSON: frames, seconds, frames per second, peak RSS. Driven by
// Benchmarks/reader-vs-ffmpeg.sh, which runs the ffmpeg CLI on the same work.
//
//   ReaderBenchmark VIDEO [WIDTHxHEIGHT|native] [scaling]
import Foundation
import Glibc
import VideoIO

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(
        Data("usage: ReaderBenchmark VIDEO [WIDTHxHEIGHT|native] [bicubic|bilinear|fast-bilinear|area]\n".utf8))
    exit(2)
}
FFmpegLogLevel.error.apply()

var options = FrameReader.Options()
if arguments.count >= 3, arguments[2] != "native" {
    let size = arguments[2].split(separator: "x").compactMap { Int($0) }
    guard size.count == 2 else { fatalError("size must be WIDTHxHEIGHT") }
    options.output = .letterbox(width: size[0], height: size[1])
}
if arguments.count >= 4 {
    guard let scaling = FrameReader.Scaling(rawValue: arguments[3]) else { fatalError("unknown scaling \(arguments[3])") }
    options.scaling = scaling
}

let start = DispatchTime.now()
var frames = 0
var checksum: UInt64 = 0
do {
    let reader = try FrameReader(arguments[1], options: options)
    while let frame = try reader.nextFrame() {
        frames += 1
        // Touch the pixels so the conversion cannot be skipped.
        checksum &+= UInt64(frame.image.pixels[frame.image.pixels.count / 2])
    }
} catch {
    FileHandle.standardError.write(Data("ReaderBenchmark: \(error)\n".utf8))
    exit(1)
}
let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
print(
    #"{"frames":\#(frames),"seconds":\#(seconds),"fps":\#(Double(frames) / seconds),"peakRSSKiB":\#(usage.ru_maxrss),"checksum":\#(checksum)}"#
)
