// Module resolution hook for local functions: a bare specifier that cannot be found next to
// the function file is resolved from the project instead.
const PROJECT_PARENT = import.meta.url;

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const bare = !/^(\.|\/|file:|node:|data:)/.test(specifier);
    if (bare && error && error.code === "ERR_MODULE_NOT_FOUND") return next(specifier, { ...context, parentURL: PROJECT_PARENT });
    throw error;
  }
}
