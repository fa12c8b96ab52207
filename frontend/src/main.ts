import "./styles.css";
import { App } from "./ui/app";

const root = document.getElementById("app")!;
new App(root).start().catch((error: unknown) => {
  root.textContent = `Masklet could not start: ${error instanceof Error ? error.message : String(error)}`;
});
