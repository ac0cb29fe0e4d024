// Evaluated once, before the snapshot: defines how a run starts. Everything
// a run needs is captured here, before tenant code can replace globals.
(() => {
  'use strict';
  const parse = JSON.parse;
  const stringify = JSON.stringify;
  const toString = String;
  const compile = Function;
  const resolved = Promise.resolve.bind(Promise);
  const isArray = Array.isArray;

  // Auth0's handler names (the shape users know), one per trigger.
  const HANDLERS = {
    'pre-user-registration': 'onExecutePreUserRegistration',
    'post-user-registration': 'onExecutePostUserRegistration',
    'pre-login': 'onExecutePreLogin',
    'post-login': 'onExecutePostLogin',
    'credentials-exchange': 'onExecuteCredentialsExchange',
  };
  const MAX_LOG_CHARS = 16384;
  const MAX_DECISIONS = 100;
  const MAX_ERROR_CHARS = 2048;

  const describe = (e) => {
    let text;
    try {
      text = e instanceof Error ? `${e.name}: ${e.message}` : `uncaught: ${toString(e)}`;
    } catch (_) {
      text = 'uncaught: (a value that cannot be printed)';
    }
    return text.length > MAX_ERROR_CHARS ? text.slice(0, MAX_ERROR_CHARS) + '…' : text;
  };

  // `factory`: the action's `(exports, module)` function, from bytecode the
  // host cached; without it, the source is compiled here.
  globalThis.__tessera_start = function (input, factory) {
    const { source, trigger, event, secrets } = parse(input);
    const handlerName = HANDLERS[trigger];
    const decisions = [];
    const logs = [];
    let logChars = 0;
    let logsTruncated = false;
    const finish = (out) => {
      out.logs = logs;
      out.logs_truncated = logsTruncated;
      globalThis.__tessera_result = stringify(out);
    };

    const decide = (d) => {
      if (decisions.length >= MAX_DECISIONS) {
        throw new Error(`an action may make at most ${MAX_DECISIONS} decisions`);
      }
      decisions.push(d);
    };
    const text = (v) => {
      if (typeof v === 'string') return v;
      try {
        const s = stringify(v);
        return s === undefined ? toString(v) : s;
      } catch (_) {
        return toString(v);
      }
    };
    // console output is kept, bounded, in the execution record.
    const logger = (level) => (...args) => {
      if (logsTruncated) return;
      let message = args.map(text).join(' ');
      if (logChars + message.length > MAX_LOG_CHARS) {
        message = message.slice(0, MAX_LOG_CHARS - logChars);
        logsTruncated = true;
      }
      logChars += message.length;
      logs.push({ level, message });
    };
    globalThis.console = {
      log: logger('log'),
      info: logger('info'),
      warn: logger('warn'),
      error: logger('error'),
      debug: logger('debug'),
    };

    const claim = (token) => (name, value) =>
      decide({ type: 'set_claim', token, name: toString(name), value });
    const metadata = (kind) => (name, value) =>
      decide({ type: 'set_metadata', kind, name: toString(name), value });

    // What each trigger's `api` offers; a method it does not offer is a
    // TypeError in the action, like on Auth0.
    const api = {};
    switch (trigger) {
      case 'pre-user-registration':
        api.access = {
          deny: (reason, userMessage) =>
            decide({ type: 'deny', reason: toString(reason ?? ''), user_message: userMessage == null ? null : toString(userMessage) }),
        };
        api.user = { setUserMetadata: metadata('user'), setAppMetadata: metadata('app') };
        break;
      case 'pre-login':
        api.access = {
          deny: (reason, userMessage) =>
            decide({ type: 'deny', reason: toString(reason ?? ''), user_message: userMessage == null ? null : toString(userMessage) }),
        };
        break;
      case 'post-login':
        api.access = { deny: (reason) => decide({ type: 'deny', reason: toString(reason ?? ''), user_message: null }) };
        api.idToken = { setCustomClaim: claim('id_token') };
        api.accessToken = {
          setCustomClaim: claim('access_token'),
          addScope: (scope) => decide({ type: 'add_scope', scope: toString(scope) }),
        };
        api.user = { setAppMetadata: metadata('app'), setUserMetadata: metadata('user') };
        api.multifactor = {
          enable: (provider, options) =>
            decide({
              type: 'require_mfa',
              provider: toString(provider ?? 'any'),
              allow_remember_browser: !!(options && options.allowRememberBrowser),
            }),
        };
        break;
      case 'credentials-exchange':
        // Auth0's signature: deny(code, reason).
        api.access = {
          deny: (code, reason) =>
            decide({ type: 'deny', code: toString(code ?? 'access_denied'), reason: toString(reason ?? ''), user_message: null }),
        };
        api.accessToken = { setCustomClaim: claim('access_token') };
        break;
      default:
        break;
    }
    if (event && typeof event === 'object' && !isArray(event)) {
      event.secrets = secrets || {};
    }

    let handler;
    try {
      if (!handlerName) throw new Error(`unknown trigger ${toString(trigger)}`);
      const module = { exports: {} };
      (factory || compile('exports', 'module', source))(module.exports, module);
      handler = module.exports && module.exports[handlerName];
      if (typeof handler !== 'function') {
        throw new Error(`the action does not export ${handlerName}`);
      }
    } catch (e) {
      finish({ ok: false, error: describe(e), decisions: [] });
      return;
    }
    resolved()
      .then(() => handler(event, api))
      .then(
        () => finish({ ok: true, decisions }),
        (e) => finish({ ok: false, error: describe(e), decisions: [] }),
      );
  };
})();
