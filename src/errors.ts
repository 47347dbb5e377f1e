/**
 * Base class of every error confbulk throws on purpose. Errors are recognised by
 * `instanceof` or by `name`, because they cross process and serialisation boundaries
 * (BullMQ stores a failed job's error as its message and name only).
 */
export class ConfbulkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = this.constructor.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** Configuration or input that cannot be used. The message names the field and what is allowed. */
export class ValidationError extends ConfbulkError {
  constructor(
    message: string,
    /** Dotted path of the offending field, e.g. `params.HoldUrl`. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Configuration (environment, config file, flags) that cannot be used. */
export class ConfigError extends ValidationError {}
