/* store_copy.h - `hearth store copy --from sqlite:PATH --to postgresql://...`. */
#ifndef HEARTH_CLI_STORE_COPY_H
#define HEARTH_CLI_STORE_COPY_H

/* argv[0] is "copy". Prints to stdout/stderr; returns the process exit code (0 ok, 1 refused
 * or failed, 2 usage). */
int store_copy_main(int argc, char **argv);

#endif
