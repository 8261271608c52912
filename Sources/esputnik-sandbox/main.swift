import FastCGI
import Glibc

// The sandbox's life is in SandboxCommand.run (see app-inbox-fcgi/main.swift for why).
FastCGIServer.ignoreBrokenPipes()
exit(SandboxCommand.run(arguments: Array(CommandLine.arguments.dropFirst())))
