/** The dashboard's login form: one field, the API token, posted to `action`. */

const STYLE = `
  body { font-family: system-ui, sans-serif; background: #f4f5f7; display: grid;
         place-items: center; min-height: 100vh; margin: 0; }
  form { background: #fff; padding: 2rem; border-radius: 8px; width: 22rem;
         box-shadow: 0 1px 4px rgba(0,0,0,.15); }
  h1 { font-size: 1.2rem; margin: 0 0 1rem; }
  label { display: block; margin-bottom: .4rem; }
  input { width: 100%; box-sizing: border-box; padding: .5rem; margin-bottom: 1rem; }
  button { padding: .5rem 1.2rem; }
  .error { color: #b00020; margin: 0 0 1rem; }
`;

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** The page; `error` (plain text) is shown above the field. */
export function loginPage(action: string, error?: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>confbulk dashboard: log in</title>
<style>${STYLE}</style>
</head>
<body>
<form method="post" action="${escapeHtml(action)}">
  <h1>confbulk dashboard</h1>
  ${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
  <label for="token">Admin API token (CONFBULK_API_TOKEN or one from confbulk token create)</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  <button type="submit">Log in</button>
</form>
</body>
</html>
`;
}
