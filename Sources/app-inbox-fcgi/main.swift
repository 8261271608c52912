import FastCGI
import Glibc

// The life of the process is in Command.run; top-level code stays minimal because closures
// written here are main-actor code and must not be handed to worker threads.
FastCGIServer.ignoreBrokenPipes()
exit(Command.run(arguments: Array(CommandLine.arguments.dropFirst())))
