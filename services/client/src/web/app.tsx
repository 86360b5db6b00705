import { LocationProvider, Route, Router, useRoute } from 'preact-iso';
import { Header } from './components/header';
import { readConfig } from './lib/config';
import { SessionProvider } from './lib/session';
import { AuthPage } from './pages/auth';
import { NotFoundPage } from './pages/not-found';
import { OrderPage } from './pages/order';
import { OrdersPage } from './pages/orders';
import { TicketPage } from './pages/ticket';
import { TicketFormPage } from './pages/ticket-form';
import { TicketsPage } from './pages/tickets';

const config = readConfig();

// Routes hand the path's id over as a prop, so each page is a plain component of its inputs.
const SignUp = () => <AuthPage mode="signup" />;
const SignIn = () => <AuthPage mode="signin" />;
const NewTicket = () => <TicketFormPage />;
const EditTicket = () => <TicketFormPage id={useRoute().params.id} />;
const ShowTicket = () => {
  const { id } = useRoute().params;
  return <TicketPage key={id} id={id!} />;
};
const ShowOrder = () => {
  const { id } = useRoute().params;
  return <OrderPage key={id} id={id!} config={config} />;
};

/** The shop: header, then the page of the current path. */
export function App() {
  return (
    <LocationProvider>
      <SessionProvider>
        <Header />
        <main id="main" tabIndex={-1}>
          <Router>
            <Route path="/" component={TicketsPage} />
            <Route path="/signup" component={SignUp} />
            <Route path="/signin" component={SignIn} />
            <Route path="/tickets/new" component={NewTicket} />
            <Route path="/tickets/:id/edit" component={EditTicket} />
            <Route path="/tickets/:id" component={ShowTicket} />
            <Route path="/orders" component={OrdersPage} />
            <Route path="/orders/:id" component={ShowOrder} />
            <Route default component={NotFoundPage} />
          </Router>
        </main>
      </SessionProvider>
    </LocationProvider>
  );
}
