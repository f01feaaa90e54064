import type { AnyPage } from './router.ts';
import { homePage, logoutAction } from './home.tsx';
import { authorizeCliAction, loginPage } from './login.tsx';
import { magicLinkRequestAction, magicLinkVerifyPage } from './magic-link.tsx';
import { googleCallbackPage, googleLoginPage } from './google.tsx';
import { forgotPasswordPage, resetPasswordPage, setPasswordPage } from './password.tsx';
import { setupPage } from './setup.tsx';
import { accessRequestAction, catalogPage, tablePage, tableQueryAction } from './catalog.tsx';
import { SETTINGS_PAGES } from './settings.tsx';
import { ADMIN_ACCESS_PAGES } from './admin/access.tsx';
import { ADMIN_AUDIT_PAGES } from './admin/audit.tsx';
import { ADMIN_SYNC_PAGES } from './admin/sync.tsx';
import { ADMIN_TABLE_PAGES } from './admin/tables.tsx';
import { ADMIN_USER_PAGES } from './admin/users.tsx';
import { MEMORY_PAGES } from './memory.tsx';
import { ADMIN_JOB_PAGES } from './admin/jobs.tsx';
import { SCRIPT_PAGES } from './scripts.tsx';

/**
 * Every page of the web UI. A new page is a file in src/web/ (definePage, a view in views/)
 * and one line here; the page router gives it the layout, the role guard, the CSRF check
 * and the error pages.
 */
export const PAGES: AnyPage[] = [
  homePage,
  logoutAction,
  loginPage,
  authorizeCliAction,
  magicLinkRequestAction,
  magicLinkVerifyPage,
  googleLoginPage,
  googleCallbackPage,
  forgotPasswordPage,
  resetPasswordPage,
  setPasswordPage,
  setupPage,
  catalogPage,
  accessRequestAction,
  tablePage,
  tableQueryAction,
  ...SETTINGS_PAGES,
  ...ADMIN_USER_PAGES,
  ...ADMIN_TABLE_PAGES,
  ...ADMIN_SYNC_PAGES,
  ...ADMIN_AUDIT_PAGES,
  ...ADMIN_ACCESS_PAGES,
  ...MEMORY_PAGES,
  ...ADMIN_JOB_PAGES,
  ...SCRIPT_PAGES,
];
