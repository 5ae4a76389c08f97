SELECT model.name AS model, neuron.layer AS layer, count(*) AS n_neurons, count(atlas_value(s0.vals, neuron.unit % ?)) AS n_values, max(atlas_value(s0.vals, neuron.unit % ?)) AS value 
FROM neuron JOIN model ON model.id = neuron.model_id LEFT OUTER JOIN score_vector AS s0 ON s0.set_id = ? AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? 
WHERE neuron.model_id = ? AND neuron.site = ? GROUP BY model.name, neuron.layer ORDER BY model.name, neuron.layer
-- parameters: {'unit_1': 256, 'set_id_1': 407, 'unit_2': 256, 'model_id_1': 3, 'site_1': 'mlp'}
-- score sets read:
-- ablation(noun) of minilm: run 5, method row 12 {"batch_sentences":16,"probe_sentences":300,"seed":0,"sentences":64,"value":"zero"}
