package org.deltadit.weights;

/**
 * Anything wrong with a checkpoint or its config: one line naming the file and the key or offset.
 * It is an {@link IllegalArgumentException} because a bad file is bad input (the CLI exits with 2).
 */
public final class CheckpointException extends IllegalArgumentException {
    public CheckpointException(String message) { super(message); }

    public CheckpointException(String message, Throwable cause) { super(message, cause); }
}
