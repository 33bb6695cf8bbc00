/** Tensors, dtypes, the op SPI and its backends. */
package org.deltadit.engine;
