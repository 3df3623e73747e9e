@preconcurrency import Glibc

extension CLI {
    /// Flushes standard output, where `print` writes; output that could not be
    /// written (a full disk, a closed pipe) fails the command instead of exiting 0.
    static func checkStandardOutput() {
        if fflush(stdout) != 0 || ferror(stdout) != 0 {
            printError("cannot write standard output: \(String(cString: strerror(errno)))")
            exit(1)
        }
    }
}
