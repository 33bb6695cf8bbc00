package org.deltadit.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code dit} command. Bad input exits with status 2 and one line on stderr, never a stack trace. */
@Command(name = "dit", mixinStandardHelpOptions = true, version = "dit 0.1.0",
        description = "Diffusion transformer inference on the JVM, with Δ-DiT block caching.",
        subcommands = {GenerateCommand.class, EncodeCommand.class, PlanCommand.class, InfoCommand.class, BenchCommand.class, AnalyzeCommand.class, ServeCommand.class, DevicesCommand.class, FidStatsCommand.class, TuneCommand.class, QuantizeCommand.class, ConvertCommand.class, SelfCheckCommand.class})
public final class Main implements java.util.concurrent.Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() { return Usage.missingSubcommand(spec.commandLine()); }

    public static void main(String[] args) {
        int status;
        try {
            status = execute(args);
        } catch (OutOfMemoryError e) {
            System.err.println("dit: out of memory; give the JVM more with DIT_JAVA_OPTS=-Xmx16g (or fewer images per --batch)");
            status = 1;
        }
        System.exit(status);
    }

    /** Runs the command line and returns the exit status (0 ok, 1 failed check, 2 bad input). */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("dit: " + ex.getMessage());
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            if (ex instanceof org.deltadit.engine.InvalidParameter p) {
                c.getErr().println("dit: " + org.deltadit.pipeline.Flags.message(p));
                return 2;
            }
            if (ex instanceof IllegalArgumentException || ex instanceof java.io.UncheckedIOException) {
                c.getErr().println("dit: " + ex.getMessage());
                return 2;
            }
            if (ex instanceof IllegalStateException) { // e.g. the latent turned NaN: a failed run, not bad input
                c.getErr().println("dit: " + ex.getMessage());
                return 1;
            }
            throw ex;
        });
        try {
            return cl.execute(args);
        } catch (ExceptionInInitializerError e) {
            // a bad engine property (-Ddit.vector.bits=77) fails the class that reads it: its one line, not the trace
            if (!(e.getCause() instanceof IllegalArgumentException cause)) throw e;
            System.err.println("dit: -D" + cause.getMessage());
            return 2;
        }
    }
}
