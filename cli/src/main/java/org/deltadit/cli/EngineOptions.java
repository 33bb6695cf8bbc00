package org.deltadit.cli;

import picocli.CommandLine.Option;

/** Where a command computes: --device and --threads (unset: -Ddit.device / -Ddit.threads, else cpu on every core). */
final class EngineOptions {
    @Option(names = "--device", description = "cpu, reference, opencl[:N] or cuda[:N] (default: -Ddit.device, else cpu; dit devices lists them)")
    String device;
    @Option(names = "--threads", description = "worker threads (default: -Ddit.threads, else all cores)")
    Integer threads;

    org.deltadit.engine.Backend backend() { return org.deltadit.engine.Backends.select(device, threads); }
}
