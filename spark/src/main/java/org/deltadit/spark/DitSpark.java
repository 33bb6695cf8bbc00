package org.deltadit.spark;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code dit-spark}: the pipeline's generate and compare jobs on Apache Spark. Bad input — a flag, a file,
 * a class, a model, an output folder, a master URL — is one line and status 2, before any executor work.
 */
@Command(name = "dit-spark", mixinStandardHelpOptions = true, version = "dit-spark 0.1.0",
        description = "Generate and compare with the dit engine on an Apache Spark cluster (local[*] by default).",
        subcommands = {GenerateCommand.class, CompareCommand.class})
public final class DitSpark implements java.util.concurrent.Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getErr().println("dit-spark: give a command: generate or compare (dit-spark --help)");
        return 2;
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs a command line; returns 0, 1 (the job failed) or 2 (bad input). */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new DitSpark());
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("dit-spark: " + ex.getMessage());
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            if (ex instanceof org.deltadit.engine.InvalidParameter p) {
                c.getErr().println("dit-spark: " + org.deltadit.pipeline.Flags.message(p, java.util.Map.of("prompts", "--prompts")));
                return 2;
            }
            if (ex instanceof IllegalArgumentException || ex instanceof java.io.UncheckedIOException) {
                c.getErr().println("dit-spark: " + ex.getMessage());
                return 2;
            }
            if (ex instanceof org.apache.spark.SparkException || ex instanceof IllegalStateException) {
                c.getErr().println("dit-spark: the job failed: " + JobOptions.firstLine(ex));
                return 1;
            }
            throw ex;
        });
        return cl.execute(args);
    }
}
