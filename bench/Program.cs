Console.WriteLine("bench: not wired yet");
