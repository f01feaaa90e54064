export interface ErrorPageProps {
  status: number;
  /** The status's title (`Not Found`). */
  title: string;
  /** What went wrong, in words for the person reading it (never a stack trace). */
  detail: string;
  /** Fields that failed validation. */
  errors?: Array<{ path: string; message: string }>;
  requestId?: string;
  /** Offer to sign in as someone else (a 401 or 403). */
  offerSignIn?: boolean;
}

/** The page of a refused or failed request: status, what happened, where to go from here. */
export function ErrorPage({ status, title, detail, errors, requestId, offerSignIn }: ErrorPageProps) {
  return (
    <main data-testid="error-page" data-status={String(status)}>
      <h1>
        {status} {title}
      </h1>
      <p class="error" role="alert">{detail}</p>
      {errors?.length ? (
        <ul>
          {errors.map((e) => (
            <li>
              <code>{e.path}</code>: {e.message}
            </li>
          ))}
        </ul>
      ) : null}
      <p>
        <a href="/">Go to the start page</a>
        {offerSignIn ? (
          <>
            {' or '}
            <a href="/login">sign in as someone else</a>
          </>
        ) : null}
        .
      </p>
      {requestId ? <p class="note">Request id: <code data-testid="request-id">{requestId}</code></p> : null}
    </main>
  );
}
