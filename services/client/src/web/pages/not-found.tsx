import { Page } from '../components/page';

/** Any path the shop does not know. */
export function NotFoundPage() {
  return (
    <Page title="Page not found">
      <p>
        There is nothing here. <a href="/">See the tickets on sale</a>.
      </p>
    </Page>
  );
}
