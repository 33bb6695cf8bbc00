package org.deltadit.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code dit} command. Bad input exits with status 2 and one line on stderr, never a stack trace. */
@Command(name = "dit", mixinStandardHelpOptions = true, version = "dit 0.1.0",
        description = "Diffusion transformer inference on the JVM, with Δ-DiT block caching.",
        subcommands = {InfoCommand.class, SelfCheckCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() { spec.commandLine().usage(System.err); }

    public static void main(String[] args) { System.exit(execute(args)); }

    /** Runs the command line and returns the exit status (0 ok, 1 failed check, 2 bad input). */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("dit: " + ex.getMessage());
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            if (ex instanceof IllegalArgumentException || ex instanceof java.io.UncheckedIOException) {
                c.getErr().println("dit: " + ex.getMessage());
                return 2;
            }
            throw ex;
        });
        return cl.execute(args);
    }
}
